/* SPDX-License-Identifier: MIT */
/* The file backend: output appended (the file created 0644 if missing),
 * no input, anything but a regular file refused. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/chardev_rig.h"
#include "tests/unit/tap.h"

static char dir[64], err[512];

static size_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return n > 0 ? (size_t)n : 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    snprintf(dir, sizeof(dir), "/tmp/kvmini-cdfile.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char path[128], buf[256];
    snprintf(path, sizeof(path), "%s/console.log", dir);

    struct chardev *c;
    int r = chardev_file_open(&c, path, "console", err, sizeof(err));
    struct stat st;
    CHECK(r == 0 && stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
          "a missing file is created 0644 (%s)", r ? err : "ok");
    if (r)
        return tap_done();
    struct fe f;
    fe_init(&f);
    CHECK(chardev_attach(c, &f.cl, true) == 0, "an input frontend attaches");
    CHECK(chardev_in_eof(c) && chardev_in_avail(c) == 0,
          "no input: at its end from the start");
    CHECK(chardev_write(c, "first run\n", 10) == 10, "output taken");
    chardev_close(c);
    CHECK(slurp(path, buf, sizeof(buf)) == 10 &&
              !memcmp(buf, "first run\n", 10),
          "written by close");

    r = chardev_file_open(&c, path, "console", err, sizeof(err));
    CHECK(r == 0, "opened again");
    static char big[100000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    CHECK(cd_write_all(c, big, sizeof(big)) == sizeof(big),
          "100000 bytes taken (a file never stalls for long)");
    chardev_close(c);
    CHECK(stat(path, &st) == 0 && st.st_size == 10 + (off_t)sizeof(big),
          "appended, not overwritten: %lld bytes", (long long)st.st_size);
    static char back[100010];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && read_all(fd, back, sizeof(back)) == sizeof(back) &&
              !memcmp(back, "first run\n", 10) &&
              !memcmp(back + 10, big, sizeof(big)),
          "the old run's bytes, then the new ones, in order");
    close(fd);

    r = chardev_file_open(&c, dir, "console", err, sizeof(err));
    CHECK(r < 0 && strstr(err, dir), "a directory is refused: %s", err);
    snprintf(path, sizeof(path), "%s/fifo", dir);
    mkfifo(path, 0600);
    int rd = open(path, O_RDONLY | O_NONBLOCK);
    r = chardev_file_open(&c, path, "console", err, sizeof(err));
    CHECK(r == -EINVAL && strstr(err, "not a regular file"),
          "a FIFO is refused (not hung on): %s", err);
    close(rd);
    snprintf(path, sizeof(path), "%s/none/x.log", dir);
    r = chardev_file_open(&c, path, "console", err, sizeof(err));
    CHECK(r == -ENOENT && strstr(err, "cannot open"), "a missing directory: %s",
          err);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd))
        DIAG("could not remove %s", dir);
    return tap_done();
}
