#define _GNU_SOURCE
#include "CShims.h"

#include <errno.h>
#include <linux/openat2.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/uio.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

long shim_ptrace(int request, pid_t pid, uintptr_t addr, uintptr_t data) {
    long result = ptrace((enum __ptrace_request)request, pid, (void *)addr, (void *)data);
    return result == -1 ? -errno : result;
}

int shim_tgkill(pid_t tgid, pid_t tid, int signal_number) {
    long result = syscall(SYS_tgkill, tgid, tid, signal_number);
    return result == -1 ? -errno : 0;
}

int shim_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == -1 ? -errno : 0;
}

long shim_read_process_memory(pid_t pid, uint64_t address, void *buffer, size_t count) {
    struct iovec local = { buffer, count };
    struct iovec remote = { (void *)(uintptr_t)address, count };
    ssize_t done = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return done == -1 ? -errno : done;
}

long shim_write_process_memory(pid_t pid, uint64_t address, const void *buffer, size_t count) {
    struct iovec local = { (void *)buffer, count };
    struct iovec remote = { (void *)(uintptr_t)address, count };
    ssize_t done = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    return done == -1 ? -errno : done;
}

int shim_get_res_ids(uint32_t uids[3], uint32_t gids[3]) {
    if (getresuid(&uids[0], &uids[1], &uids[2]) == -1 || getresgid(&gids[0], &gids[1], &gids[2]) == -1) {
        return -errno;
    }
    return 0;
}

uint32_t shim_get_fsuid(void) {
    return (uint32_t)setfsuid((uid_t)-1);
}

uint32_t shim_get_fsgid(void) {
    return (uint32_t)setfsgid((gid_t)-1);
}

int shim_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, name, 0, 0, 0) == -1 ? -errno : 0;
}

int shim_get_securebits(void) {
    int result = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    return result == -1 ? -errno : result;
}

int shim_unshare_user_namespace(void) {
    return unshare(CLONE_NEWUSER) == -1 ? -errno : 0;
}

int shim_open_path(int dirfd, const char *path, int no_follow, uint64_t resolve) {
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC | (no_follow ? O_NOFOLLOW : 0),
        .mode = 0,
        .resolve = resolve,
    };
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (fd == -1 && errno == EAGAIN);
    return fd == -1 ? -errno : (int)fd;
}

int shim_file_status(int fd, struct shim_file_status *status) {
    struct statx buffer;
    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
              STATX_BASIC_STATS | STATX_BTIME, &buffer) == -1) {
        return -errno;
    }
    status->device = makedev(buffer.stx_dev_major, buffer.stx_dev_minor);
    status->inode = buffer.stx_ino;
    status->mode = buffer.stx_mode;
    status->uid = buffer.stx_uid;
    status->gid = buffer.stx_gid;
    status->link_count = buffer.stx_nlink;
    status->size = (int64_t)buffer.stx_size;
    status->birth_time = (buffer.stx_mask & STATX_BTIME)
        ? (int64_t)buffer.stx_btime.tv_sec * 1000000000 + buffer.stx_btime.tv_nsec : 0;
    status->change_time = (int64_t)buffer.stx_ctime.tv_sec * 1000000000 + buffer.stx_ctime.tv_nsec;
    return 0;
}

int shim_filesystem_status(int fd, int64_t *type, int *mount_flags) {
    struct statfs filesystem;
    if (fstatfs(fd, &filesystem) == -1) {
        return -errno;
    }
    *type = filesystem.f_type;
    *mount_flags = ((filesystem.f_flags & ST_RDONLY) ? 1 : 0) | ((filesystem.f_flags & ST_NOSUID) ? 2 : 0);
    return 0;
}

int shim_chown_descriptor(int fd, uint32_t uid, uint32_t gid) {
    return fchownat(fd, "", uid, gid, AT_EMPTY_PATH) == -1 ? -errno : 0;
}

static void descriptor_path(int fd, char *path, size_t size) {
    snprintf(path, size, "/proc/self/fd/%d", fd);
}

long shim_get_attribute(int fd, const char *name, void *value, size_t size) {
    char path[64];
    descriptor_path(fd, path, sizeof path);
    ssize_t length = getxattr(path, name, value, size);
    return length == -1 ? -errno : length;
}

int shim_set_attribute(int fd, const char *name, const void *value, size_t size) {
    char path[64];
    descriptor_path(fd, path, sizeof path);
    return setxattr(path, name, value, size, 0) == -1 ? -errno : 0;
}

int shim_remove_attribute(int fd, const char *name) {
    char path[64];
    descriptor_path(fd, path, sizeof path);
    return removexattr(path, name) == -1 ? -errno : 0;
}

long shim_list_attributes(int fd, char *list, size_t size) {
    char path[64];
    descriptor_path(fd, path, sizeof path);
    ssize_t length = listxattr(path, list, size);
    return length == -1 ? -errno : length;
}

long shim_descriptor_flags(pid_t pid, int fd) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
    FILE *file = fopen(path, "re");
    if (file == NULL) {
        return -errno;
    }
    char line[256];
    long flags = -ENOENT;
    while (fgets(line, sizeof line, file) != NULL) {
        unsigned long value;
        if (sscanf(line, "flags: %lo", &value) == 1) {
            flags = (long)value;
            break;
        }
    }
    fclose(file);
    return flags;
}

// Everything below runs in the forked child of a multithreaded process, so
// it calls only async-signal-safe functions (signal-safety(7)).

static void report_and_exit(int fd, int stage, int error_number, int status) {
    struct shim_spawn_report report = { stage, error_number };
    ssize_t written;
    do {
        written = write(fd, &report, sizeof report);
    } while (written == -1 && errno == EINTR);
    _exit(status);
}

// Installs the filter. seccomp(2) needs CAP_SYS_ADMIN in the caller's user
// namespace or no_new_privs; a mapped root has the capability, and setting
// no_new_privs only when it is missing keeps the command's view of
// PR_GET_NO_NEW_PRIVS and of set-user-ID executables unchanged.
static int install_filter(const struct shim_spawn_request *request) {
    struct sock_fprog program = {
        .len = request->filter_length,
        .filter = (struct sock_filter *)request->filter,
    };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0) {
        return 0;
    }
    if (errno != EACCES) {
        return errno;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
        return errno;
    }
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0 ? 0 : errno;
}

// Mirrors execvp(3): ENOEXEC runs the file with /bin/sh, EACCES is kept
// while later candidates are tried, ENOENT and ENOTDIR move on, and any
// other error ends the search.
static void execute_command(const struct shim_spawn_request *request) {
    int last_error = ENOENT;
    int saw_access_error = 0;

    for (const char *const *candidate = request->candidates; *candidate != NULL; candidate++) {
        execve(*candidate, request->argv, request->envp);
        int error_number = errno;

        if (error_number == ENOEXEC) {
            request->shell_argv[1] = (char *)*candidate;
            execve("/bin/sh", request->shell_argv, request->envp);
            error_number = errno;
        }

        if (error_number == EACCES) {
            saw_access_error = 1;
        } else if (error_number != ENOENT && error_number != ENOTDIR && error_number != ESTALE
                   && error_number != ENODEV && error_number != ETIMEDOUT) {
            last_error = error_number;
            break;
        }
        last_error = error_number;
    }

    if (saw_access_error && (last_error == ENOENT || last_error == ENOTDIR)) {
        last_error = EACCES;
    }
    int status = (last_error == ENOENT || last_error == ENOTDIR) ? 127 : 126;
    report_and_exit(request->report_fd, SHIM_SPAWN_STAGE_EXEC, last_error, status);
}

pid_t shim_spawn_traced(const struct shim_spawn_request *request) {
    pid_t pid = fork();
    if (pid != 0) {
        return pid == -1 ? -errno : pid;
    }

    // Wait until the parent has attached with PTRACE_SEIZE; EOF means the
    // parent gave up or died, and the child must not run the command
    // untraced.
    close(request->start_write_fd);
    char byte;
    ssize_t got;
    do {
        got = read(request->start_fd, &byte, 1);
    } while (got == -1 && errno == EINTR);
    if (got != 1) {
        _exit(125);
    }

    sigprocmask(SIG_SETMASK, request->signal_mask, NULL);

    int error_number = install_filter(request);
    if (error_number != 0) {
        report_and_exit(request->report_fd, SHIM_SPAWN_STAGE_FILTER, error_number, 125);
    }

    execute_command(request);
    _exit(127);
}

long shim_stat_descriptor(int fd, void *buffer, size_t size) {
    struct stat status;
    if (size < sizeof status) {
        return -EINVAL;
    }
    if (fstatat(fd, "", &status, AT_EMPTY_PATH) == -1) {
        return -errno;
    }
    memcpy(buffer, &status, sizeof status);
    return (long)sizeof status;
}

int shim_statx_descriptor(int fd, int sync_flags, unsigned int mask, void *buffer) {
    return statx(fd, "", AT_EMPTY_PATH | sync_flags, mask, (struct statx *)buffer) == -1 ? -errno : 0;
}

void shim_stat_fields(struct shim_stat_fields *fields) {
    fields->size = sizeof(struct stat);
    fields->device = offsetof(struct stat, st_dev);
    fields->device_width = sizeof(((struct stat *)0)->st_dev);
    fields->inode = offsetof(struct stat, st_ino);
    fields->inode_width = sizeof(((struct stat *)0)->st_ino);
    fields->mode = offsetof(struct stat, st_mode);
    fields->mode_width = sizeof(((struct stat *)0)->st_mode);
    fields->uid = offsetof(struct stat, st_uid);
    fields->uid_width = sizeof(((struct stat *)0)->st_uid);
    fields->gid = offsetof(struct stat, st_gid);
    fields->gid_width = sizeof(((struct stat *)0)->st_gid);
    fields->rdev = offsetof(struct stat, st_rdev);
    fields->rdev_width = sizeof(((struct stat *)0)->st_rdev);
}
