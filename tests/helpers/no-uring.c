/* no-uring.c -- test helper: runs a program with io_uring refused, the way
 * a container's seccomp profile refuses it.
 *
 * Usage: NO_URING_EXEC=/path/to/program no-uring [args...]
 * Installs a seccomp filter (PR_SET_NO_NEW_PRIVS + SECCOMP_MODE_FILTER)
 * that makes io_uring_setup fail with EPERM for this process and its
 * children, then execs $NO_URING_EXEC with argv[1..]. Unlike the kernel's
 * io_uring_disabled sysctl it affects nothing else on the machine, so
 * suites running in parallel are not disturbed. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *prog = getenv("NO_URING_EXEC");
    if (!prog || argc < 1) {
        fprintf(stderr, "usage: NO_URING_EXEC=program no-uring [args...]\n");
        return 2;
    }
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {(unsigned short)(sizeof(filter) / sizeof(filter[0])), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
        perror("no-uring: seccomp");
        return 2;
    }
    argv[0] = (char *)prog;
    execv(prog, argv);
    perror("no-uring: execv");
    return 2;
}
