/* SPDX-License-Identifier: MIT */
/*
 * Asks KVM directly what an integration test must hold kvmini to, so the
 * test never takes kvmini's word for it: prints "NAME VALUE" for
 * KVM_CAP_NR_VCPUS (the recommended maximum) and KVM_CAP_MAX_VCPUS.
 * Usage: kvm-caps [DEVICE]; exit 1 with one line if DEVICE cannot be
 * opened.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/dev/kvm";
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        fprintf(stderr, "kvm-caps: %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("KVM_CAP_NR_VCPUS %d\n",
           ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS));
    printf("KVM_CAP_MAX_VCPUS %d\n",
           ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
    close(fd);
    return 0;
}
