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
    // The parent's end of that pipe. The child closes its copy, so that the
    // parent's death, even by SIGKILL before the seize, reads as EOF.
    int start_write_fd;
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

// statx(2) of a descriptor into st_dev, st_ino, st_mode, st_uid, st_gid,
// st_nlink, st_size, the change time and the birth time.
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
    // The change time (st_ctime) as nanoseconds.
    int64_t change_time;
};
int shim_file_status(int fd, struct shim_file_status *status);

// fstatat(fd, "", buffer, AT_EMPTY_PATH) into glibc's struct stat, which on
// x86_64 is the kernel's struct for newfstatat(2). Returns the struct's
// size, or -errno.
long shim_stat_descriptor(int fd, void *buffer, size_t size);

// statx(fd, "", AT_EMPTY_PATH | sync_flags, mask, buffer), whose struct
// statx is 256 bytes on every ABI.
int shim_statx_descriptor(int fd, int sync_flags, unsigned int mask, void *buffer);

// The size of glibc's struct stat and the offset and width of the fields
// remainroot rewrites.
struct shim_stat_fields {
    size_t size;
    size_t device, device_width, inode, inode_width, mode, mode_width;
    size_t uid, uid_width, gid, gid_width, rdev, rdev_width;
};
void shim_stat_fields(struct shim_stat_fields *fields);

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

// The worker pool's hand-over mailboxes (pool.c). A worker hands a stopped
// tracee to another by detaching it and posting its pid. The target seizes
// it from a signal handler, so that the post is not lost while the target
// is blocked in waitpid(2) on tracees of its own.

// One tracee on its way to another worker.
struct shim_handover {
    struct shim_handover *next;
    pid_t pid;
    // The sender's state of the tracee, passed through untouched.
    void *context;
    // 0 when the target seized the tracee, else the errno of PTRACE_SEIZE.
    int seize_error;
    // The tracee's slot in the guardian's list until the seize.
    int guardian_slot;
};

// The pool's shared counters and the mailboxes of its workers.
struct shim_pool;

// Allocates a pool of `worker_count` mailboxes whose targets seize with
// `seize_options`, and installs the wake-up signal's handler. NULL when
// out of memory.
struct shim_pool *shim_pool_create(int worker_count, unsigned long seize_options);
void shim_pool_destroy(struct shim_pool *pool);

// The pool's lifecycle state: SHIM_POOL_STARTING and so on.
enum shim_pool_state {
    SHIM_POOL_STARTING = 0,
    SHIM_POOL_RUNNING = 1,
    SHIM_POOL_DRAINING = 2,
    SHIM_POOL_STOPPED = 3,
};
int shim_pool_state(struct shim_pool *pool);
void shim_pool_set_state(struct shim_pool *pool, int state);

// Binds the calling thread to mailbox `index`: records its thread id for
// the wake-up signal and unblocks that signal in it. Every worker counts as
// busy from the pool's creation until its first shim_pool_wait_for_work.
void shim_pool_enter_worker(struct shim_pool *pool, int index);

// Stops counting as busy a worker whose thread could not be started.
void shim_pool_retire_unstarted_worker(struct shim_pool *pool, int index);

// Forks the guardian, a process that kills every tracee in transit when
// remainroot ends, even by SIGKILL. Returns 0 or -errno; without a
// guardian no hand-over is possible.
int shim_pool_start_guardian(struct shim_pool *pool);
int shim_pool_has_guardian(struct shim_pool *pool);

// The number of CPUs the calling thread may run on, as nproc(1) counts
// them from sched_getaffinity(2), or -errno.
int shim_available_cpu_count(void);

// Ends and reaps the guardian once no tracee can be in transit.
void shim_pool_stop_guardian(struct shim_pool *pool);

// Forks a child that calls glibc's pause(3), which on x86_64 is the pause
// system call, under the seccomp filters the caller runs under, with a 5 ms
// timer. Returns 1 when the call waited until SIGALRM ended the child, 0
// when it returned or a filter killed the child, -errno when the child
// could not be made.
int shim_probe_pause(void);

// A node for shim_pool_hand_over, with `pid` listed in the guardian's page,
// or NULL when there is no guardian, its page is full or memory is out.
// Create it before detaching the tracee, so that after the detach only the
// wake-up signal can fail.
struct shim_handover *shim_handover_create(struct shim_pool *pool, pid_t pid, void *context);

// Unlists and frees a node that will not be posted.
void shim_handover_cancel(struct shim_pool *pool, struct shim_handover *node);

// Posts a tracee, already detached by the caller, to worker `target` and
// wakes it; the target frees the node. Returns 0, or -errno when the
// signal could not be sent and the post waits for the target's next
// wake-up.
int shim_pool_hand_over(struct shim_pool *pool, int target, struct shim_handover *node);

// Takes the list of tracees the calling worker seized since the last call,
// or NULL. The caller frees each node with free(3).
struct shim_handover *shim_pool_take_seized(struct shim_pool *pool, int index);

// Called by worker `index` when waitpid(2) reported no tracees: sleeps
// until another worker hands it one (returns 1) or until no worker has a
// tracee and none is in transit (returns 0; the pool is then draining).
int shim_pool_wait_for_work(struct shim_pool *pool, int index);

#endif
