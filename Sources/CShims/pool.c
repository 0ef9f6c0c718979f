// The worker pool's mailboxes, its activity count and the wake-up signal.
//
// Linux lets only the thread that attached a tracee make ptrace requests for
// it, so a tracee handed from worker A to worker B must be seized by B's own
// thread. A posts the pid to B's mailbox and sends B's thread SIGURG. B may
// be blocked in waitpid(2) on tracees of its own. A flag checked before that
// call would be lost when the signal arrives just before B blocks, so the
// handler itself, running on B's thread, seizes every posted tracee. The
// tracee's PTRACE_INTERRUPT stop is then what B's waitpid reports, whenever
// the signal arrived. Everything the handler touches is a
// lock-free atomic or a raw system call (signal-safety(7)).

#define _GNU_SOURCE
#include "CShims.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

// SIGURG: ignored by default, never forwarded to the command, and a
// standard signal, so that a burst of posts coalesces into one pending
// signal instead of filling the real-time queue (RLIMIT_SIGPENDING).
#define WAKE_SIGNAL SIGURG

// One busy worker in shim_pool.activity; the low half counts tracees in
// transit.
#define ONE_BUSY_WORKER ((uint64_t)1 << 32)

// The guardian's page: one slot per tracee in transit, 0 when free.
#define GUARDIAN_SLOTS 1024

struct mailbox {
    // Posted by other workers, taken by this worker's signal handler.
    _Atomic(struct shim_handover *) incoming;
    // Pushed by the handler after seizing, taken by the worker's loop.
    _Atomic(struct shim_handover *) seized;
    // 1 while the worker sleeps without tracees. Written only by the
    // worker's thread and its signal handler.
    _Atomic int idle;
    // The worker's thread id, for tgkill(2); written once when it starts.
    _Atomic pid_t thread_id;
    struct shim_pool *pool;
};

struct shim_pool {
    // Busy workers in the high 32 bits and tracees in transit in the low
    // 32: one word, so that one atomic operation sees both reach zero. A
    // worker is busy from its start until waitpid reports that it has no
    // tracee, and again from the moment its handler seizes one. A tracee
    // is in transit from its post until the target's seize, which counts
    // the target busy first; so the word is zero only when no tracee is
    // left anywhere.
    _Atomic uint64_t activity;
    _Atomic int state;
    unsigned long seize_options;
    int worker_count;
    // Shared with the guardian process, NULL when there is none.
    _Atomic pid_t *guardian_slots;
    pid_t guardian;
    struct mailbox mailboxes[];
};

// The mailbox of the worker running on this thread, NULL on other threads.
// initial-exec keeps the handler's access to it free of allocation.
static _Thread_local struct mailbox *current_mailbox __attribute__((tls_model("initial-exec")));

static void push(_Atomic(struct shim_handover *) *list, struct shim_handover *node,
                 struct shim_handover **previous_head) {
    struct shim_handover *head = atomic_load(list);
    do {
        node->next = head;
    } while (!atomic_compare_exchange_weak(list, &head, node));
    if (previous_head != NULL) {
        *previous_head = head;
    }
}

static void seize_incoming(struct mailbox *mailbox) {
    struct shim_pool *pool = mailbox->pool;
    struct shim_handover *node = atomic_exchange(&mailbox->incoming, NULL);
    while (node != NULL) {
        struct shim_handover *next = node->next;
        long result = syscall(SYS_ptrace, PTRACE_SEIZE, node->pid, 0, pool->seize_options);
        node->seize_error = result == 0 ? 0 : errno;
        if (result == 0) {
            // Stops the tracee wherever it is, so that its next waitpid
            // report is a stop at which its registers can be restored.
            syscall(SYS_ptrace, PTRACE_INTERRUPT, node->pid, 0, 0);
        }
        if (node->guardian_slot >= 0) {
            // Attached again, or dead: PTRACE_O_EXITKILL covers it now.
            atomic_store(&pool->guardian_slots[node->guardian_slot], 0);
        }
        push(&mailbox->seized, node, NULL);

        // Busy first, then out of transit: the activity word never passes
        // through zero while the tracee exists.
        if (atomic_exchange(&mailbox->idle, 0)) {
            atomic_fetch_add(&pool->activity, ONE_BUSY_WORKER);
        }
        atomic_fetch_sub(&pool->activity, 1);
        node = next;
    }
}

static void on_wake_signal(int signal_number) {
    (void)signal_number;
    int saved_errno = errno;
    struct mailbox *mailbox = current_mailbox;
    if (mailbox != NULL) {
        seize_incoming(mailbox);
    }
    errno = saved_errno;
}

struct shim_pool *shim_pool_create(int worker_count, unsigned long seize_options) {
    struct shim_pool *pool = calloc(1, sizeof *pool + (size_t)worker_count * sizeof(struct mailbox));
    if (pool == NULL) {
        return NULL;
    }
    atomic_init(&pool->activity, (uint64_t)worker_count * ONE_BUSY_WORKER);
    atomic_init(&pool->state, SHIM_POOL_STARTING);
    pool->seize_options = seize_options;
    pool->worker_count = worker_count;
    for (int index = 0; index < worker_count; index++) {
        pool->mailboxes[index].pool = pool;
    }

    // SA_RESTART: the waitpid(2) the handler interrupts carries on and
    // reports the tracee the handler seized.
    struct sigaction action = { 0 };
    action.sa_handler = on_wake_signal;
    action.sa_flags = SA_RESTART;
    sigfillset(&action.sa_mask);
    sigaction(WAKE_SIGNAL, &action, NULL);

    // Threads started from here on inherit the signal blocked; each worker
    // unblocks it for itself.
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, WAKE_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &wake, NULL);
    return pool;
}

// The guardian: a process forked before the workers start, which waits for
// remainroot to end and then kills every tracee still listed in its page.
// PTRACE_O_EXITKILL kills the attached tracees when remainroot dies, even by
// SIGKILL, but a tracee between its detach and its seize has no tracer. The
// guardian closes that gap without changing what the command sees.
int shim_pool_start_guardian(struct shim_pool *pool) {
    int remainroot = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (remainroot < 0) {
        return -errno;
    }
    _Atomic pid_t *slots = mmap(NULL, GUARDIAN_SLOTS * sizeof(pid_t), PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) {
        int error_number = errno;
        close(remainroot);
        return -error_number;
    }

    pid_t guardian = fork();
    if (guardian < 0) {
        int error_number = errno;
        close(remainroot);
        munmap((void *)slots, GUARDIAN_SLOTS * sizeof(pid_t));
        return -error_number;
    }
    if (guardian == 0) {
        // Only async-signal-safe calls from here: the parent has threads.
        prctl(PR_SET_NAME, "rr-guardian", 0, 0, 0);
        // Hold no descriptor but the pidfd, so that no pipe of the command
        // stays open because of the guardian.
        if (dup2(remainroot, 0) == 0) {
            syscall(SYS_close_range, 1, ~0U, 0);
        }
        // Signals meant for the command's terminal or group must not end
        // the guardian; only SIGKILL and SIGSTOP remain.
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, NULL);

        struct pollfd end = { .fd = 0, .events = POLLIN };
        while (poll(&end, 1, -1) < 0 && errno == EINTR) {
        }
        for (int slot = 0; slot < GUARDIAN_SLOTS; slot++) {
            pid_t pid = atomic_load(&slots[slot]);
            if (pid > 0) {
                kill(pid, SIGKILL);
            }
        }
        _exit(0);
    }

    close(remainroot);
    pool->guardian_slots = slots;
    pool->guardian = guardian;
    return 0;
}

void shim_pool_stop_guardian(struct shim_pool *pool) {
    if (pool->guardian <= 0) {
        return;
    }
    kill(pool->guardian, SIGKILL);
    while (waitpid(pool->guardian, NULL, __WALL) < 0 && errno == EINTR) {
    }
    pool->guardian = 0;
}

int shim_available_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        return -errno;
    }
    return CPU_COUNT(&set);
}

int shim_probe_pause(void) {
    pid_t child = fork();
    if (child < 0) {
        return -errno;
    }
    if (child == 0) {
        // Only async-signal-safe calls: the parent has threads.
        struct sigaction action = { 0 };
        action.sa_handler = SIG_DFL;
        sigaction(SIGALRM, &action, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);

        struct itimerval timer = { .it_value = { .tv_sec = 0, .tv_usec = 5000 } };
        setitimer(ITIMER_REAL, &timer, NULL);
        pause();
        _exit(0);
    }

    int status;
    while (waitpid(child, &status, __WALL) < 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? 1 : 0;
}

int shim_pool_has_guardian(struct shim_pool *pool) {
    return pool->guardian_slots != NULL;
}

void shim_pool_destroy(struct shim_pool *pool) {
    for (int index = 0; index < pool->worker_count; index++) {
        for (int list = 0; list < 2; list++) {
            _Atomic(struct shim_handover *) *head = list == 0 ? &pool->mailboxes[index].incoming : &pool->mailboxes[index].seized;
            struct shim_handover *node = atomic_exchange(head, NULL);
            while (node != NULL) {
                struct shim_handover *next = node->next;
                free(node);
                node = next;
            }
        }
    }
    if (pool->guardian_slots != NULL) {
        munmap((void *)pool->guardian_slots, GUARDIAN_SLOTS * sizeof(pid_t));
    }
    free(pool);
}

int shim_pool_state(struct shim_pool *pool) {
    return atomic_load(&pool->state);
}

void shim_pool_set_state(struct shim_pool *pool, int state) {
    atomic_store(&pool->state, state);
}

void shim_pool_enter_worker(struct shim_pool *pool, int index) {
    struct mailbox *mailbox = &pool->mailboxes[index];
    current_mailbox = mailbox;
    atomic_store(&mailbox->thread_id, (pid_t)syscall(SYS_gettid));

    sigset_t wake_set;
    sigemptyset(&wake_set);
    sigaddset(&wake_set, WAKE_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &wake_set, NULL);

    // A post made before the thread id was visible sent no signal.
    if (atomic_load(&mailbox->incoming) != NULL) {
        syscall(SYS_tgkill, getpid(), atomic_load(&mailbox->thread_id), WAKE_SIGNAL);
    }
}

static int wake(struct shim_pool *pool, int index) {
    pid_t thread_id = atomic_load(&pool->mailboxes[index].thread_id);
    if (thread_id == 0) {
        // Not started yet: shim_pool_enter_worker looks at the mailbox.
        return 0;
    }
    return syscall(SYS_tgkill, getpid(), thread_id, WAKE_SIGNAL) == 0 ? 0 : -errno;
}

// Stops counting worker `index` as busy. When that leaves no busy worker and no
// tracee in transit, nothing can create a tracee any more: the pool drains
// and every other worker is woken to see it.
static void stop_being_busy(struct shim_pool *pool, int index) {
    uint64_t activity = atomic_fetch_sub(&pool->activity, ONE_BUSY_WORKER) - ONE_BUSY_WORKER;
    if (activity == 0) {
        atomic_store(&pool->state, SHIM_POOL_DRAINING);
        for (int other = 0; other < pool->worker_count; other++) {
            if (other != index) {
                wake(pool, other);
            }
        }
    }
}

void shim_pool_retire_unstarted_worker(struct shim_pool *pool, int index) {
    stop_being_busy(pool, index);
}

struct shim_handover *shim_handover_create(struct shim_pool *pool, pid_t pid, void *context) {
    if (pool->guardian_slots == NULL) {
        return NULL;
    }
    // Start where the pid points, so that concurrent senders rarely meet.
    int guardian_slot = -1;
    for (int step = 0; step < GUARDIAN_SLOTS && guardian_slot < 0; step++) {
        int slot = (int)(((unsigned)pid + (unsigned)step) % GUARDIAN_SLOTS);
        pid_t free_slot = 0;
        if (atomic_compare_exchange_strong(&pool->guardian_slots[slot], &free_slot, pid)) {
            guardian_slot = slot;
        }
    }
    if (guardian_slot < 0) {
        return NULL;
    }

    struct shim_handover *node = malloc(sizeof *node);
    if (node == NULL) {
        atomic_store(&pool->guardian_slots[guardian_slot], 0);
        return NULL;
    }
    node->next = NULL;
    node->pid = pid;
    node->context = context;
    node->seize_error = 0;
    node->guardian_slot = guardian_slot;
    return node;
}

void shim_handover_cancel(struct shim_pool *pool, struct shim_handover *node) {
    atomic_store(&pool->guardian_slots[node->guardian_slot], 0);
    free(node);
}

int shim_pool_hand_over(struct shim_pool *pool, int target, struct shim_handover *node) {
    atomic_fetch_add(&pool->activity, 1);
    struct shim_handover *previous_head;
    push(&pool->mailboxes[target].incoming, node, &previous_head);

    // A non-empty mailbox already has a signal on its way, and the
    // handler empties the whole list.
    return previous_head == NULL ? wake(pool, target) : 0;
}

struct shim_handover *shim_pool_take_seized(struct shim_pool *pool, int index) {
    _Atomic(struct shim_handover *) *seized = &pool->mailboxes[index].seized;
    // Called after every stop and almost always empty: a plain load first
    // spares the locked exchange.
    if (atomic_load_explicit(seized, memory_order_relaxed) == NULL) {
        return NULL;
    }
    return atomic_exchange(seized, NULL);
}

int shim_pool_wait_for_work(struct shim_pool *pool, int index) {
    struct mailbox *mailbox = &pool->mailboxes[index];
    sigset_t wake_set, previous;
    sigemptyset(&wake_set);
    sigaddset(&wake_set, WAKE_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &wake_set, &previous);

    // The handler may have seized a tracee after waitpid returned ECHILD.
    // With the signal blocked it cannot run again until sigsuspend.
    if (atomic_load(&mailbox->seized) != NULL) {
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        return 1;
    }

    atomic_store(&mailbox->idle, 1);
    stop_being_busy(pool, index);

    sigset_t waiting = previous;
    sigdelset(&waiting, WAKE_SIGNAL);
    while (atomic_load(&mailbox->idle) && atomic_load(&pool->state) != SHIM_POOL_DRAINING) {
        sigsuspend(&waiting);
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    return atomic_load(&mailbox->idle) ? 0 : 1;
}
