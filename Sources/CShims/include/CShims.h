// The calls Swift cannot make on Linux: variadic ones and the traced child's
// work between fork and execve. Every function returns its non-negative
// result, or the negated errno on failure, so no Swift code reads errno.

#ifndef REMAINROOT_CSHIMS_H
#define REMAINROOT_CSHIMS_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

// ptrace(2) with integer addr and data. PTRACE_PEEK* requests are not
// supported, because their result cannot be told apart from -errno.
long shim_ptrace(int request, pid_t pid, uintptr_t addr, uintptr_t data);

// tgkill(2), which glibc exposes only through syscall(2).
int shim_tgkill(pid_t tgid, pid_t tid, int signal_number);

// pipe2(2) with O_CLOEXEC; fds receives the read and write ends.
int shim_pipe_cloexec(int fds[2]);

// process_vm_readv(2) and process_vm_writev(2) of one contiguous range:
// the count of bytes transferred, or -errno.
long shim_read_process_memory(pid_t pid, uint64_t address, void *buffer, size_t count);
long shim_write_process_memory(pid_t pid, uint64_t address, const void *buffer, size_t count);

// getresuid(2), getresgid(2), and setfsuid(2)/setfsgid(2) with the invalid
// id -1, which change nothing and return the current filesystem id.
int shim_get_res_ids(uint32_t uids[3], uint32_t gids[3]);
uint32_t shim_get_fsuid(void);
uint32_t shim_get_fsgid(void);

// Names the calling thread for ps -L and top -H; Linux keeps 15 bytes.
int shim_set_thread_name(const char *name);

// prctl(PR_GET_SECUREBITS).
int shim_get_securebits(void);

// unshare(2) with CLONE_NEWUSER.
int shim_unshare_user_namespace(void);

// One BPF instruction, laid out as the kernel's struct sock_filter.
struct shim_bpf_instruction {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
};

// What the child reports through its error pipe before it exits.
enum shim_spawn_stage {
    SHIM_SPAWN_STAGE_FILTER = 1,
    SHIM_SPAWN_STAGE_EXEC = 2,
};

struct shim_spawn_report {
    int32_t stage;
    int32_t error_number;
};

struct shim_spawn_request {
    // Paths to try in order, as execvp(3) would, NULL-terminated.
    const char *const *candidates;
    char *const *argv;
    // argv for /bin/sh when a candidate fails with ENOEXEC. Element 1 is a
    // spare slot the child fills with the candidate's path.
    char **shell_argv;
    char *const *envp;
    const struct shim_bpf_instruction *filter;
    uint16_t filter_length;
    // The child blocks reading this until the parent has seized it.
    int start_fd;
    // Close-on-exec; the child writes a shim_spawn_report here on failure.
    int report_fd;
    // The signal mask the command starts with.
    const sigset_t *signal_mask;
};

// Forks a child that waits on start_fd, installs the seccomp filter and
// executes the command. Returns the child's pid or -errno from fork.
pid_t shim_spawn_traced(const struct shim_spawn_request *request);

// File operations the ownership emulation makes on the tracee's behalf.
// Each returns its non-negative result or -errno.

// openat2(2) with O_PATH | O_CLOEXEC, optional O_NOFOLLOW and the given
// RESOLVE_* flags. Returns a descriptor.
int shim_open_path(int dirfd, const char *path, int no_follow, uint64_t resolve);

// fstat(2) of a descriptor into st_dev, st_ino, st_mode, st_uid, st_gid,
// st_nlink and st_size.
struct shim_file_status {
    uint64_t device;
    uint64_t inode;
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint64_t link_count;
    int64_t size;
    // The birth time as nanoseconds, or 0 where the filesystem keeps none.
    int64_t birth_time;
};
int shim_file_status(int fd, struct shim_file_status *status);

// fstatfs(2): the filesystem's f_type, and the mount's flags: bit 0 for a
// read-only mount (ST_RDONLY), bit 1 for nosuid (ST_NOSUID).
int shim_filesystem_status(int fd, int64_t *type, int *mount_flags);

// fchownat(fd, "", uid, gid, AT_EMPTY_PATH): the real chown of the file.
int shim_chown_descriptor(int fd, uint32_t uid, uint32_t gid);

// getxattr(2), setxattr(2) and removexattr(2) on an O_PATH descriptor,
// through /proc/self/fd/N. get returns the value's length.
long shim_get_attribute(int fd, const char *name, void *value, size_t size);
int shim_set_attribute(int fd, const char *name, const void *value, size_t size);
int shim_remove_attribute(int fd, const char *name);
long shim_list_attributes(int fd, char *list, size_t size);

// The flags of the tracee's descriptor, from /proc/PID/fdinfo/FD, or -errno.
long shim_descriptor_flags(pid_t pid, int fd);

#endif
