/*
 * Sets up files as root in the directory given as argument, then drops
 * privileges in several ways and prints, one line per call, whether each
 * open, access, execve, chown, mknod, mkdir and symlink succeeded or which
 * errno it failed with. Run as real root and under remainroot, the two outputs
 * must be the same.
 *
 * Usage: permission-checks DIRECTORY
 *        permission-checks --probe DIRECTORY   (run after execve)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errno_name(int number) {
    /* glibc 2.32's strerrorname_np gives the symbolic name. */
    const char *name = strerrorname_np(number);
    return name != NULL ? name : strerror(number);
}

/* Prints the outcome of a call that returned `result`, closing a returned
 * descriptor. */
static void report(const char *label, long result, int is_descriptor) {
    if (result < 0) {
        printf("%s: %s\n", label, errno_name(errno));
    } else {
        printf("%s: ok\n", label);
        if (is_descriptor) {
            close((int)result);
        }
    }
    fflush(stdout);
}

static void try_open(const char *label, const char *path, int flags) {
    report(label, open(path, flags, 0644), 1);
}

static void create_file(const char *path, mode_t mode) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
    if (fd < 0 || fchmod(fd, mode) != 0) {
        perror(path);
        exit(2);
    }
    close(fd);
}

static void make_directory(const char *path, mode_t mode) {
    if (mkdir(path, mode) != 0 || chmod(path, mode) != 0) {
        perror(path);
        exit(2);
    }
}

/* The opens a task that lost CAP_DAC_OVERRIDE must be refused. */
static void probe_opens(const char *prefix) {
    char label[128];
#define PROBE(name, path, flags) \
    do { snprintf(label, sizeof label, "%s %s", prefix, name); try_open(label, path, flags); } while (0)
    PROBE("open secret read-only", "secret", O_RDONLY);
    PROBE("open public read-only", "public", O_RDONLY);
    PROBE("open public read-write", "public", O_RDWR);
    PROBE("open public truncate", "public", O_WRONLY | O_TRUNC);
    PROBE("open public noatime", "public", O_RDONLY | O_NOATIME);
    PROBE("open secret path", "secret", O_PATH);
    PROBE("open private/inner", "private/inner", O_RDONLY);
    PROBE("open link to private/inner", "inner-link", O_RDONLY);
    PROBE("open private/missing", "private/missing", O_RDONLY);
    PROBE("open missing", "missing", O_RDONLY);
    PROBE("create in closed", "closed/new", O_CREAT | O_WRONLY);
    PROBE("open closed as directory", "closed", O_RDONLY | O_DIRECTORY);
    PROBE("open public as directory", "public", O_RDONLY | O_DIRECTORY);
    PROBE("open closed for writing", "closed", O_WRONLY);
#undef PROBE
    snprintf(label, sizeof label, "%s openat secret", prefix);
    report(label, openat(AT_FDCWD, "secret", O_RDONLY), 1);
    snprintf(label, sizeof label, "%s creat in closed", prefix);
    report(label, creat("closed/created", 0644), 1);
}

/* Runs `path` in a child and reports whether execve succeeded: the child
 * exits with the errno of a failed execve, and the program itself exits
 * with 0. */
static void try_execute(const char *label, const char *path) {
    pid_t child = fork();
    if (child == 0) {
        execl(path, path, (char *)NULL);
        _exit(errno);
    }
    int status = 0;
    waitpid(child, &status, 0);
    int failure = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    printf("%s: %s\n", label, failure == 0 ? "ok" : failure < 0 ? "killed" : errno_name(failure));
    fflush(stdout);
}

static void probe_other_calls(void) {
    try_execute("execute public-tool", "./public-tool");
    try_execute("execute secret-tool", "./secret-tool");
    try_execute("execute private/tool", "private/tool");
    report("access secret real ids", access("secret", R_OK), 0);
    report("faccessat2 secret effective ids", syscall(SYS_faccessat2, AT_FDCWD, "secret", R_OK, AT_EACCESS), 0);
    report("faccessat2 private/inner effective ids", syscall(SYS_faccessat2, AT_FDCWD, "private/inner", F_OK, AT_EACCESS), 0);
    report("faccessat public write effective ids", syscall(SYS_faccessat2, AT_FDCWD, "public", W_OK, AT_EACCESS), 0);
    report("mkdir in closed", mkdir("closed/directory", 0755), 0);
    report("mknod fifo in closed", mknod("closed/fifo", S_IFIFO | 0644, 0), 0);
    report("mknod device in closed", mknod("closed/device", S_IFCHR | 0644, makedev(1, 3)), 0);
    report("mknod device in open", mknod("open/device", S_IFCHR | 0644, makedev(1, 3)), 0);
    report("mknod fifo in open", mknod("open/fifo", S_IFIFO | 0644, 0), 0);
    report("symlink in closed", symlink("target", "closed/link"), 0);
    report("chown private/inner", chown("private/inner", 65534, -1), 0);
    report("chown public", chown("public", 65534, -1), 0);
    report("create in open", open("open/new", O_CREAT | O_WRONLY, 0600), 1);
    report("open own new file", open("open/new", O_RDWR), 1);
}

/* Drops the effective capabilities CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH with capset(2), keeping uid 0. */
static int drop_dac_capabilities(void) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) {
        return -1;
    }
    data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    return (int)syscall(SYS_capset, &header, data);
}

static void wait_for(pid_t child) {
    int status;
    waitpid(child, &status, 0);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--probe") == 0) {
        if (chdir(argv[2]) != 0) {
            return 2;
        }
        probe_opens("after execve:");
        return 0;
    }
    if (argc != 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: permission-checks DIRECTORY\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    create_file("secret", 0600);
    create_file("public", 0644);
    create_file("no-bits", 0000);
    make_directory("private", 0700);
    create_file("private/inner", 0644);
    make_directory("closed", 0555);
    make_directory("open", 0777);
    static const char script[] = "#!/bin/sh\nexit 0\n";
    const char *tools[] = {"public-tool", "secret-tool", "private/tool"};
    const mode_t tool_modes[] = {0755, 0700, 0755};
    for (int i = 0; i < 3; i++) {
        create_file(tools[i], 0600);
        int fd = open(tools[i], O_WRONLY);
        if (fd < 0 || write(fd, script, sizeof script - 1) != (ssize_t)(sizeof script - 1) || fchmod(fd, tool_modes[i]) != 0) {
            perror(tools[i]);
            return 2;
        }
        close(fd);
    }
    if (symlink("private/inner", "inner-link") != 0) {
        perror("symlink");
        return 2;
    }

    /* Effective uid 65534 in a child, then back to root. */
    pid_t child = fork();
    if (child == 0) {
        report("setresuid euid 65534", syscall(SYS_setresuid, -1, 65534, -1), 0);
        probe_opens("euid 65534:");
        probe_other_calls();

        pid_t grandchild = fork();
        if (grandchild == 0) {
            probe_opens("child of euid 65534:");
            _exit(0);
        }
        wait_for(grandchild);

        grandchild = fork();
        if (grandchild == 0) {
            execl("/proc/self/exe", argv[0], "--probe", ".", (char *)NULL);
            _exit(127);
        }
        wait_for(grandchild);

        report("setresuid euid 0", syscall(SYS_setresuid, -1, 0, -1), 0);
        probe_opens("root again:");
        _exit(0);
    }
    wait_for(child);

    /* Filesystem uid 65534 only. */
    child = fork();
    if (child == 0) {
        setfsuid(65534);
        probe_opens("fsuid 65534:");
        setfsuid(0);
        try_open("fsuid 0: open secret read-write", "secret", O_RDWR);
        _exit(0);
    }
    wait_for(child);

    /* uid 0 without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. */
    child = fork();
    if (child == 0) {
        report("capset without DAC capabilities", drop_dac_capabilities(), 0);
        try_open("capset: open no-bits", "no-bits", O_RDONLY);
        try_open("capset: open secret read-write", "secret", O_RDWR);
        try_open("capset: open public read-write", "public", O_RDWR);
        _exit(0);
    }
    wait_for(child);
    return 0;
}
