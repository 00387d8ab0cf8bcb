/* SPDX-License-Identifier: MIT */
/* Backend specs: every form, every refusal, and the keys shared with a
 * frontend's own (--console virtio,legacy,pty; a --port-like table). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hw/chardev.h"
#include "tests/unit/tap.h"
#include "virtio/console_opt.h"

static struct chardev_spec sp;
static char err[256];

static int parse(const char *s)
{
    memset(&sp, 0xa5, sizeof(sp));
    err[0] = 0;
    return chardev_spec_parse(s, &sp, err, sizeof(err));
}

static void test_forms(void)
{
    CHECK(parse("stdio") == 0 && sp.kind == CHARDEV_STDIO && !sp.wait, "stdio");
    CHECK(parse("pty") == 0 && sp.kind == CHARDEV_PTY, "pty");
    CHECK(parse("unix=/run/vm.sock,server") == 0 &&
              sp.kind == CHARDEV_UNIX_SERVER &&
              !strcmp(sp.path, "/run/vm.sock") && !sp.wait,
          "unix=PATH,server");
    CHECK(parse("unix=/run/vm.sock,server,wait") == 0 &&
              sp.kind == CHARDEV_UNIX_SERVER && sp.wait,
          "unix=PATH,server,wait");
    CHECK(parse("server,unix=/s") == 0 && sp.kind == CHARDEV_UNIX_SERVER,
          "order does not matter");
    CHECK(parse("unix=/run/vm.sock") == 0 && sp.kind == CHARDEV_UNIX_CLIENT &&
              !strcmp(sp.path, "/run/vm.sock"),
          "unix=PATH is a client");
    CHECK(parse("file=/tmp/a,,b.log") == 0 && sp.kind == CHARDEV_FILE &&
              !strcmp(sp.path, "/tmp/a,b.log"),
          "file=PATH; ',,' is a comma in the path");
    CHECK(parse("unix=/s,server=off") == 0 && sp.kind == CHARDEV_UNIX_CLIENT,
          "server=off is a client");
}

static void refused(const char *spec, const char *word)
{
    int r = parse(spec);
    CHECK(r == -EINVAL && strstr(err, word), "'%s' refused: %s", spec, err);
}

static void test_errors(void)
{
    refused("", "empty");
    refused("tty", "unknown key 'tty'");
    refused("ptyx", "unknown key 'ptyx'");
    refused("pty,stdio", "more than one backend");
    refused("unix=/a,file=/b", "more than one backend");
    refused("server", "no backend");
    refused("pty,server", "'server' goes only with unix");
    refused("file=/f,wait", "'wait' goes only with unix");
    refused("unix=/s,wait", "'wait' goes only with a server");
    refused("unix=", "empty");
    refused("unix", "needs a value");
    refused("pty,pty", "given twice");
    refused("pty,", "trailing comma");
    char long_path[160];
    memset(long_path, 'a', sizeof(long_path));
    memcpy(long_path, "unix=/", 6);
    long_path[sizeof(long_path) - 1] = 0;
    refused(long_path, "longer than 107 bytes");
}

/* A frontend mixing its keys with the backend's, as --port will. */
struct port_like {
    char name[32];
    struct chardev_opts cd;
};

static void test_embedded(void)
{
    static const struct kvopt_key keys[] = {
        {"name", KVOPT_STR, offsetof(struct port_like, name), 32, 0, 0},
        CHARDEV_KVOPT_KEYS(struct port_like, cd),
        {0},
    };
    struct port_like p;
    memset(&p, 0, sizeof(p));
    int r = kvopt_parse("name=org.example.ctl,unix=/run/vm1.ctl,server", keys,
                        NULL, &p, NULL, err, sizeof(err));
    CHECK(r == 0 && chardev_opts_any(&p.cd) &&
              chardev_spec_from_opts(&p.cd, &sp, err, sizeof(err)) == 0 &&
              sp.kind == CHARDEV_UNIX_SERVER &&
              !strcmp(sp.path, "/run/vm1.ctl") &&
              !strcmp(p.name, "org.example.ctl"),
          "name=X,unix=/p,server through the shared keys");
    memset(&p, 0, sizeof(p));
    r = kvopt_parse("name=x", keys, NULL, &p, NULL, err, sizeof(err));
    CHECK(r == 0 && !chardev_opts_any(&p.cd),
          "no backend key: chardev_opts_any says so (the frontend picks "
          "its default)");
}

static void test_console_opt(void)
{
    struct vcons_opt o;
    CHECK(vcons_opt_parse("serial", &o, err, sizeof(err)) == 0 && !o.virtio,
          "--console serial");
    CHECK(vcons_opt_parse("virtio", &o, err, sizeof(err)) == 0 && o.virtio &&
              !o.legacy && o.backend.kind == CHARDEV_STDIO,
          "--console virtio: stdio by default");
    CHECK(vcons_opt_parse("virtio,legacy", &o, err, sizeof(err)) == 0 &&
              o.virtio && o.legacy && o.backend.kind == CHARDEV_STDIO,
          "--console virtio,legacy keeps its meaning");
    CHECK(vcons_opt_parse("virtio,legacy,unix=/s,server,wait", &o, err,
                          sizeof(err)) == 0 &&
              o.legacy && o.backend.kind == CHARDEV_UNIX_SERVER &&
              o.backend.wait && !strcmp(o.backend.path, "/s"),
          "--console virtio,legacy,unix=/s,server,wait");
    CHECK(vcons_opt_parse("virtio,pty", &o, err, sizeof(err)) == 0 &&
              o.backend.kind == CHARDEV_PTY,
          "--console virtio,pty");
    CHECK(vcons_opt_parse("serial,pty", &o, err, sizeof(err)) == -EINVAL &&
              strstr(err, "--serial"),
          "--console serial,pty refused, pointing at --serial: %s", err);
    CHECK(vcons_opt_parse("legacy", &o, err, sizeof(err)) == -EINVAL &&
              strstr(err, "say which console"),
          "--console legacy refused: %s", err);
    CHECK(vcons_opt_parse("virtio,serial", &o, err, sizeof(err)) == -EINVAL,
          "--console virtio,serial refused");
    CHECK(vcons_opt_parse("virtio,pty,file=/f", &o, err, sizeof(err)) ==
                  -EINVAL &&
              strstr(err, "more than one backend"),
          "two backends refused: %s", err);
}

int main(void)
{
    test_forms();
    test_errors();
    test_embedded();
    test_console_opt();
    return tap_done();
}
