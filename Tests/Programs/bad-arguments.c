/*
 * bad-arguments: makes every system call remainroot handles with invalid
 * arguments and prints the result and errno of each, so that a run as real
 * root can be compared line by line with a run under remainroot.
 *
 * Usage: bad-arguments DIR
 *
 * DIR must be an empty folder; the file calls work on files made in it.
 * Each call runs in its own forked child, so that a credential change made
 * by one case never reaches the next, while the files a case changes stay
 * changed. Calls are made with syscall(2), never through glibc wrappers,
 * which check some arguments themselves.
 *
 * The arguments: NULL, unmapped, PROT_NONE, read-only (as a result buffer)
 * and partly mapped pointers (a buffer whose end runs into a PROT_NONE
 * page, a path or name with no terminating NUL before it); sizes 0, -1,
 * the maximum the kernel takes (NGROUPS_MAX, XATTR_SIZE_MAX, XATTR_LIST_MAX
 * are all 65536) and one more; ids -1, 0xFFFFFFFE and 0xFFFFFFFF.
 *
 * Output, one line per case:
 *   LABEL = RESULT [ERRNO] [-> DETAIL]
 * RESULT is "fd" for a new descriptor, whose number may differ. DETAIL
 * shows what a successful stat or read returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "bad-arguments has been tried on x86_64 only; check its 64-bit id cases before using it elsewhere"
#endif

/* NGROUPS_MAX, XATTR_SIZE_MAX and XATTR_LIST_MAX of <linux/limits.h>. */
#define KERNEL_MAXIMUM 65536L

static const char *directory;
static long page_size;
static unsigned char *writable_page; /* followed directly by none_page */
static unsigned char *none_page;
static unsigned char *read_only_page; /* contains the path of "file" and a name */
static unsigned char *unmapped_page;
static unsigned char *large_buffer;  /* KERNEL_MAXIMUM + 1 entries of 4 bytes */

static const char *read_only_path;
static const char *read_only_name;

static const char *errno_name(int number)
{
    /* glibc 2.32's strerrorname_np gives the symbolic name. */
    const char *name = strerrorname_np(number);
    if (name != NULL) {
        return name;
    }

    static char unknown[32];
    snprintf(unknown, sizeof unknown, "E%d", number);
    return unknown;
}

static void fail(const char *message)
{
    fprintf(stderr, "bad-arguments: %s: %s\n", message, strerror(errno));
    fflush(stdout);
    _exit(2);
}

/* DIR/NAME, in a buffer that stays valid until the next 8 calls. */
static const char *in_directory(const char *name)
{
    static char paths[8][4096];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", directory, name);
    return path;
}

/* Copies `text` to the end of the writable page so that its last byte is
 * the last one before the PROT_NONE page: with its NUL when `terminated`,
 * else without, so that reading it runs into the PROT_NONE page. */
static const char *at_edge(const char *text, int terminated)
{
    size_t length = strlen(text) + (terminated ? 1 : 0);
    char *start = (char *)none_page - length;
    memcpy(start, text, length);
    return start;
}

/* A buffer of which only the first `usable` bytes are writable. */
static void *partly_mapped(size_t usable)
{
    return none_page - usable;
}

static void map_pages(void)
{
    page_size = sysconf(_SC_PAGESIZE);
    unsigned char *pages = mmap(NULL, 4 * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED)
        fail("mmap of the test pages failed");
    writable_page = pages;
    none_page = pages + page_size;
    read_only_page = pages + 2 * page_size;
    unmapped_page = pages + 3 * page_size;

    snprintf((char *)read_only_page, page_size / 2, "%s/file", directory);
    snprintf((char *)read_only_page + page_size / 2, page_size / 2, "user.test");
    read_only_path = (const char *)read_only_page;
    read_only_name = (const char *)read_only_page + page_size / 2;

    if (mprotect(none_page, page_size, PROT_NONE) != 0
        || mprotect(read_only_page, page_size, PROT_READ) != 0
        || munmap(unmapped_page, page_size) != 0)
        fail("mprotect or munmap of the test pages failed");

    large_buffer = calloc(KERNEL_MAXIMUM + 1, 4);
    if (large_buffer == NULL)
        fail("cannot allocate the large buffer");
}

/* How a case's result is shown. */
enum result_format {
    SHOW_RESULT,     /* the number the call returned */
    SHOW_DESCRIPTOR, /* "fd" for any descriptor */
};

static void print_result(const char *label, long result, int error, enum result_format format, const char *detail)
{
    if (result == -1)
        printf("%s = -1 %s\n", label, errno_name(error));
    else if (format == SHOW_DESCRIPTOR)
        printf("%s = fd%s%s\n", label, detail[0] ? " -> " : "", detail);
    else
        printf("%s = %ld%s%s\n", label, result, detail[0] ? " -> " : "", detail);
}

/* Runs one case in a forked child, which prints its line. */
#define CASE_SHOWN(label, format, call, describe)                               \
    do {                                                                      \
        fflush(stdout);                                                       \
        pid_t child_ = fork();                                                \
        if (child_ < 0)                                                       \
            fail("fork failed");                                              \
        if (child_ == 0) {                                                    \
            char detail_[512] = "";                                           \
            errno = 0;                                                        \
            long result_ = (call);                                            \
            int error_ = errno;                                               \
            if (result_ != -1) {                                              \
                describe;                                                     \
            }                                                                 \
            print_result(label, result_, error_, format, detail_);            \
            fflush(stdout);                                                   \
            _exit(0);                                                         \
        }                                                                     \
        int status_;                                                          \
        if (waitpid(child_, &status_, 0) != child_)                           \
            fail("waitpid failed");                                           \
        if (!WIFEXITED(status_) || WEXITSTATUS(status_) != 0)                 \
            printf("%s: child ended with status 0x%x\n", label, status_);     \
    } while (0)

#define CASE(label, call) CASE_SHOWN(label, SHOW_RESULT, call, (void)0)

/* A stat call into `stat_buffer`, which shows the owner, type and device
 * number when the call succeeds. */
static struct stat stat_buffer;
#define STAT_CASE(label, call)                                                \
    CASE_SHOWN(label, SHOW_RESULT, call,                                      \
               snprintf(detail_, sizeof detail_, "uid %u gid %u mode 0%o rdev %u:%u", \
                        stat_buffer.st_uid, stat_buffer.st_gid, stat_buffer.st_mode, \
                        major(stat_buffer.st_rdev), minor(stat_buffer.st_rdev)))

static struct statx statx_buffer;
#define STATX_CASE(label, call)                                               \
    CASE_SHOWN(label, SHOW_RESULT, call,                                      \
               snprintf(detail_, sizeof detail_, "mask 0x%x uid %u gid %u mode 0%o rdev %u:%u", \
                        statx_buffer.stx_mask & (STATX_UID | STATX_GID | STATX_TYPE | STATX_MODE), \
                        statx_buffer.stx_uid, statx_buffer.stx_gid, statx_buffer.stx_mode, \
                        statx_buffer.stx_rdev_major, statx_buffer.stx_rdev_minor))

/* A call that returns bytes in `value_buffer`, shown as text. */
static char value_buffer[256];
#define VALUE_CASE(label, call)                                               \
    CASE_SHOWN(label, SHOW_RESULT, call, {                                    \
        long length_ = result_ < 200 ? result_ : 200;                         \
        for (long i_ = 0; i_ < length_; i_++)                                 \
            detail_[i_] = value_buffer[i_] ? value_buffer[i_] : '|';          \
        detail_[length_] = '\0';                                              \
    })

#define DESCRIPTOR_CASE(label, call) CASE_SHOWN(label, SHOW_DESCRIPTOR, call, (void)0)

/* A bare id or size argument as a 64-bit register value. */
#define MINUS_ONE (-1L)
#define ID_FFFFFFFE 0xFFFFFFFEL
#define ID_FFFFFFFF 0xFFFFFFFFL

static int open_or_fail(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0)
        fail(path);
    return fd;
}

static void prepare_files(void)
{
    umask(022);
    int fd = open(in_directory("file"), O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || close(fd) != 0)
        fail("cannot create DIR/file");
    if (syscall(SYS_setxattr, in_directory("file"), "user.test", "hello", 5L, 0L) != 0)
        fail("cannot set user.test on DIR/file; the folder must take user attributes");
    fd = open(in_directory("bare"), O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || close(fd) != 0)
        fail("cannot create DIR/bare");
    if (mkdir(in_directory("dir"), 0755) != 0 || mkdir(in_directory("public"), 0777) != 0
        || chmod(in_directory("public"), 0777) != 0)
        fail("cannot create DIR/dir and DIR/public");
    if (symlink("file", in_directory("link")) != 0)
        fail("cannot create DIR/link");
}

static void chown_cases(int directory_fd, int file_fd, int path_fd)
{
    const char *file = in_directory("file");

    CASE("chown null 0 0", syscall(SYS_chown, NULL, 0L, 0L));
    CASE("chown unmapped 0 0", syscall(SYS_chown, unmapped_page, 0L, 0L));
    CASE("chown none-page 0 0", syscall(SYS_chown, none_page, 0L, 0L));
    CASE("chown unterminated-at-edge 0 0", syscall(SYS_chown, at_edge(file, 0), 0L, 0L));
    CASE("chown terminated-at-edge -1 -1", syscall(SYS_chown, at_edge(file, 1), MINUS_ONE, MINUS_ONE));
    CASE("chown read-only-path -1 -1", syscall(SYS_chown, read_only_path, MINUS_ONE, MINUS_ONE));
    CASE("chown empty-path 0 0", syscall(SYS_chown, "", 0L, 0L));
    CASE("chown missing 0 0", syscall(SYS_chown, in_directory("missing"), 0L, 0L));
    CASE("chown file/below 0 0", syscall(SYS_chown, in_directory("file/below"), 0L, 0L));
    CASE("chown file -1 -1", syscall(SYS_chown, file, MINUS_ONE, MINUS_ONE));
    CASE("chown file 0xFFFFFFFF 0xFFFFFFFF", syscall(SYS_chown, file, ID_FFFFFFFF, ID_FFFFFFFF));
    CASE("chown file 0xFFFFFFFE 0xFFFFFFFE", syscall(SYS_chown, file, ID_FFFFFFFE, ID_FFFFFFFE));
    STAT_CASE("stat file", syscall(SYS_stat, file, &stat_buffer));
    CASE("chown file 0xFFFFFFFF 7", syscall(SYS_chown, file, ID_FFFFFFFF, 7L));
    CASE("chown file 0x1000003E8 -1 (upper bits)", syscall(SYS_chown, file, 0x1000003E8L, MINUS_ONE));
    STAT_CASE("stat file", syscall(SYS_stat, file, &stat_buffer));
    CASE("chown file 0xFFFFFFFE -1", syscall(SYS_chown, file, ID_FFFFFFFE, MINUS_ONE));

    CASE("lchown null -1 -1", syscall(SYS_lchown, NULL, MINUS_ONE, MINUS_ONE));
    CASE("lchown unmapped 5 5", syscall(SYS_lchown, unmapped_page, 5L, 5L));
    CASE("lchown link 0xFFFFFFFE -1", syscall(SYS_lchown, in_directory("link"), ID_FFFFFFFE, MINUS_ONE));
    STAT_CASE("lstat link", syscall(SYS_lstat, in_directory("link"), &stat_buffer));

    CASE("fchown -1 0 0", syscall(SYS_fchown, -1L, 0L, 0L));
    CASE("fchown 0xFFFFFFFF 0 0", syscall(SYS_fchown, ID_FFFFFFFF, 0L, 0L));
    CASE("fchown 9999 0 0", syscall(SYS_fchown, 9999L, 0L, 0L));
    CASE("fchown O_PATH-fd 0 0", syscall(SYS_fchown, (long)path_fd, 0L, 0L));
    CASE("fchown fd -1 -1", syscall(SYS_fchown, (long)file_fd, MINUS_ONE, MINUS_ONE));
    CASE("fchown fd 0xFFFFFFFE 0xFFFFFFFF", syscall(SYS_fchown, (long)file_fd, ID_FFFFFFFE, ID_FFFFFFFF));
    STAT_CASE("fstat fd", syscall(SYS_fstat, (long)file_fd, &stat_buffer));

    CASE("fchownat cwd null 0 0 0", syscall(SYS_fchownat, (long)AT_FDCWD, NULL, 0L, 0L, 0L));
    CASE("fchownat cwd unmapped 0 0 0", syscall(SYS_fchownat, (long)AT_FDCWD, unmapped_page, 0L, 0L, 0L));
    CASE("fchownat dir file 0 0 flags 0x1", syscall(SYS_fchownat, (long)directory_fd, "file", 0L, 0L, 1L));
    CASE("fchownat dir file 0 0 flags -1", syscall(SYS_fchownat, (long)directory_fd, "file", 0L, 0L, MINUS_ONE));
    CASE("fchownat dir null 0 0 flags -1", syscall(SYS_fchownat, (long)directory_fd, NULL, 0L, 0L, MINUS_ONE));
    CASE("fchownat -1 file 0 0 0", syscall(SYS_fchownat, -1L, "file", 0L, 0L, 0L));
    CASE("fchownat 9999 file 0 0 0", syscall(SYS_fchownat, 9999L, "file", 0L, 0L, 0L));
    CASE("fchownat file-fd x 0 0 0", syscall(SYS_fchownat, (long)file_fd, "x", 0L, 0L, 0L));
    CASE("fchownat -1 absolute 0xFFFFFFFE 0 0", syscall(SYS_fchownat, -1L, file, ID_FFFFFFFE, 0L, 0L));
    CASE("fchownat fd empty 3 3 0", syscall(SYS_fchownat, (long)file_fd, "", 3L, 3L, 0L));
    CASE("fchownat fd empty 3 3 AT_EMPTY_PATH", syscall(SYS_fchownat, (long)file_fd, "", 3L, 3L, (long)AT_EMPTY_PATH));
    CASE("fchownat fd null 4 4 AT_EMPTY_PATH", syscall(SYS_fchownat, (long)file_fd, NULL, 4L, 4L, (long)AT_EMPTY_PATH));
    CASE("fchownat O_PATH-fd empty 5 5 AT_EMPTY_PATH", syscall(SYS_fchownat, (long)path_fd, "", 5L, 5L, (long)AT_EMPTY_PATH));
    CASE("fchownat dir link 0xFFFFFFFF 6 AT_SYMLINK_NOFOLLOW", syscall(SYS_fchownat, (long)directory_fd, "link", ID_FFFFFFFF, 6L, (long)AT_SYMLINK_NOFOLLOW));
    STAT_CASE("stat file", syscall(SYS_stat, file, &stat_buffer));
    STAT_CASE("lstat link", syscall(SYS_lstat, in_directory("link"), &stat_buffer));
}

static void mknod_cases(int directory_fd, int file_fd)
{
    long character = (long)(S_IFCHR | 0640);
    long block = (long)(S_IFBLK | 0600);
    long null_device = (long)makedev(1, 3);

    CASE("mknod null char 1:3", syscall(SYS_mknod, NULL, character, null_device));
    CASE("mknod unmapped char 1:3", syscall(SYS_mknod, unmapped_page, character, null_device));
    CASE("mknod unterminated-at-edge char 1:3", syscall(SYS_mknod, at_edge(in_directory("m-edge"), 0), character, null_device));
    CASE("mknod terminated-at-edge char 1:3", syscall(SYS_mknod, at_edge(in_directory("m-edge"), 1), character, null_device));
    STAT_CASE("stat m-edge", syscall(SYS_stat, in_directory("m-edge"), &stat_buffer));
    CASE("mknod existing char 1:3", syscall(SYS_mknod, in_directory("file"), character, null_device));
    CASE("mknod missing/below char 1:3", syscall(SYS_mknod, in_directory("missing/below"), character, null_device));
    CASE("mknod file/below char 1:3", syscall(SYS_mknod, in_directory("file/below"), character, null_device));
    CASE("mknod m-type mode 0170640", syscall(SYS_mknod, in_directory("m-type"), (long)(S_IFMT | 0640), 0L));
    CASE("mknod m-minus mode -1", syscall(SYS_mknod, in_directory("m-minus"), MINUS_ONE, 0L));
    CASE("mknod m-dir mode S_IFDIR", syscall(SYS_mknod, in_directory("m-dir"), (long)(S_IFDIR | 0755), 0L));
    CASE("mknod m-ffff char dev 0xFFFFFFFF", syscall(SYS_mknod, in_directory("m-ffff"), character, ID_FFFFFFFF));
    STAT_CASE("stat m-ffff", syscall(SYS_stat, in_directory("m-ffff"), &stat_buffer));
    CASE("mknod m-upper char dev 0x100000103 (upper bits)", syscall(SYS_mknod, in_directory("m-upper"), character, 0x100000103L));
    STAT_CASE("stat m-upper", syscall(SYS_stat, in_directory("m-upper"), &stat_buffer));
    CASE("mknod m-block block 8:1", syscall(SYS_mknod, in_directory("m-block"), block, (long)makedev(8, 1)));
    STAT_CASE("stat m-block", syscall(SYS_stat, in_directory("m-block"), &stat_buffer));
    CASE("mknod m-whiteout char 0:0", syscall(SYS_mknod, in_directory("m-whiteout"), character, 0L));
    STAT_CASE("stat m-whiteout", syscall(SYS_stat, in_directory("m-whiteout"), &stat_buffer));
    CASE("mknod m-fifo fifo", syscall(SYS_mknod, in_directory("m-fifo"), (long)(S_IFIFO | 0600), 0L));
    CASE("mknod m-plain mode 0", syscall(SYS_mknod, in_directory("m-plain"), 0L, 0L));
    STAT_CASE("stat m-plain", syscall(SYS_stat, in_directory("m-plain"), &stat_buffer));

    CASE("mknodat cwd null char 1:3", syscall(SYS_mknodat, (long)AT_FDCWD, NULL, character, null_device));
    CASE("mknodat -1 m-rel char 1:3", syscall(SYS_mknodat, -1L, "m-rel", character, null_device));
    CASE("mknodat 9999 m-rel char 1:3", syscall(SYS_mknodat, 9999L, "m-rel", character, null_device));
    CASE("mknodat file-fd m-rel char 1:3", syscall(SYS_mknodat, (long)file_fd, "m-rel", character, null_device));
    CASE("mknodat dir empty char 1:3", syscall(SYS_mknodat, (long)directory_fd, "", character, null_device));
    CASE("mknodat dir m-at char 4:5", syscall(SYS_mknodat, (long)directory_fd, "m-at", character, (long)makedev(4, 5)));
    STAT_CASE("stat m-at", syscall(SYS_stat, in_directory("m-at"), &stat_buffer));
}

/* Runs the stat-family cases on one file. */
static void stat_cases_on(const char *name, int fd)
{
    const char *path = in_directory(name);
    char label[256];
#define LABEL(text) (snprintf(label, sizeof label, "%s %s", text, name), label)

    STAT_CASE(LABEL("stat buffer=null"), syscall(SYS_stat, path, NULL));
    STAT_CASE(LABEL("stat buffer=unmapped"), syscall(SYS_stat, path, unmapped_page));
    STAT_CASE(LABEL("stat buffer=read-only"), syscall(SYS_stat, path, read_only_page));
    STAT_CASE(LABEL("stat buffer=16-bytes-mapped"), syscall(SYS_stat, path, partly_mapped(16)));
    STAT_CASE(LABEL("stat buffer=good"), syscall(SYS_stat, path, &stat_buffer));
    STAT_CASE(LABEL("lstat buffer=null"), syscall(SYS_lstat, path, NULL));
    STAT_CASE(LABEL("lstat buffer=64-bytes-mapped"), syscall(SYS_lstat, path, partly_mapped(64)));
    STAT_CASE(LABEL("fstat buffer=null"), syscall(SYS_fstat, (long)fd, NULL));
    STAT_CASE(LABEL("fstat buffer=read-only"), syscall(SYS_fstat, (long)fd, read_only_page));
    STAT_CASE(LABEL("fstat buffer=100-bytes-mapped"), syscall(SYS_fstat, (long)fd, partly_mapped(100)));
    STAT_CASE(LABEL("fstat buffer=good"), syscall(SYS_fstat, (long)fd, &stat_buffer));
    STAT_CASE(LABEL("newfstatat buffer=unmapped"), syscall(SYS_newfstatat, (long)AT_FDCWD, path, unmapped_page, 0L));
    STAT_CASE(LABEL("newfstatat buffer=good flags=AT_EMPTY_PATH fd"), syscall(SYS_newfstatat, (long)fd, "", &stat_buffer, (long)AT_EMPTY_PATH));
    STAT_CASE(LABEL("newfstatat null-path flags=AT_EMPTY_PATH fd"), syscall(SYS_newfstatat, (long)fd, NULL, &stat_buffer, (long)AT_EMPTY_PATH));
    STAT_CASE(LABEL("newfstatat buffer=null flags=AT_EMPTY_PATH fd"), syscall(SYS_newfstatat, (long)fd, "", NULL, (long)AT_EMPTY_PATH));
    STATX_CASE(LABEL("statx buffer=null"), syscall(SYS_statx, (long)AT_FDCWD, path, 0L, (long)STATX_BASIC_STATS, NULL));
    STATX_CASE(LABEL("statx buffer=read-only"), syscall(SYS_statx, (long)AT_FDCWD, path, 0L, (long)STATX_BASIC_STATS, read_only_page));
    STATX_CASE(LABEL("statx buffer=200-bytes-mapped"), syscall(SYS_statx, (long)AT_FDCWD, path, 0L, (long)STATX_BASIC_STATS, partly_mapped(200)));
    STATX_CASE(LABEL("statx buffer=good"), syscall(SYS_statx, (long)AT_FDCWD, path, 0L, (long)STATX_BASIC_STATS, &statx_buffer));
    STATX_CASE(LABEL("statx buffer=good mask=0"), syscall(SYS_statx, (long)AT_FDCWD, path, 0L, 0L, &statx_buffer));
    STATX_CASE(LABEL("statx buffer=good mask=-1"), syscall(SYS_statx, (long)AT_FDCWD, path, 0L, MINUS_ONE, &statx_buffer));
    STATX_CASE(LABEL("statx fd null-path AT_EMPTY_PATH"), syscall(SYS_statx, (long)fd, NULL, (long)AT_EMPTY_PATH, (long)STATX_BASIC_STATS, &statx_buffer));
#undef LABEL
}

static void stat_cases(int directory_fd)
{
    const char *file = in_directory("file");
    long basic = (long)STATX_BASIC_STATS;

    STAT_CASE("stat null", syscall(SYS_stat, NULL, &stat_buffer));
    STAT_CASE("stat unmapped", syscall(SYS_stat, unmapped_page, &stat_buffer));
    STAT_CASE("stat unterminated-at-edge", syscall(SYS_stat, at_edge(file, 0), &stat_buffer));
    STAT_CASE("stat terminated-at-edge", syscall(SYS_stat, at_edge(file, 1), &stat_buffer));
    STAT_CASE("stat read-only-path", syscall(SYS_stat, read_only_path, &stat_buffer));
    STAT_CASE("stat empty", syscall(SYS_stat, "", &stat_buffer));
    STAT_CASE("lstat null", syscall(SYS_lstat, NULL, &stat_buffer));
    STAT_CASE("lstat unmapped", syscall(SYS_lstat, unmapped_page, &stat_buffer));
    STAT_CASE("fstat -1", syscall(SYS_fstat, -1L, &stat_buffer));
    STAT_CASE("fstat 9999", syscall(SYS_fstat, 9999L, &stat_buffer));
    STAT_CASE("fstat 0xFFFFFFFF", syscall(SYS_fstat, ID_FFFFFFFF, &stat_buffer));
    STAT_CASE("newfstatat cwd null 0", syscall(SYS_newfstatat, (long)AT_FDCWD, NULL, &stat_buffer, 0L));
    STAT_CASE("newfstatat cwd unmapped 0", syscall(SYS_newfstatat, (long)AT_FDCWD, unmapped_page, &stat_buffer, 0L));
    STAT_CASE("newfstatat dir file flags=0x1", syscall(SYS_newfstatat, (long)directory_fd, "file", &stat_buffer, 1L));
    STAT_CASE("newfstatat dir file flags=-1", syscall(SYS_newfstatat, (long)directory_fd, "file", &stat_buffer, MINUS_ONE));
    STAT_CASE("newfstatat -1 file 0", syscall(SYS_newfstatat, -1L, "file", &stat_buffer, 0L));
    STAT_CASE("newfstatat dir file 0", syscall(SYS_newfstatat, (long)directory_fd, "file", &stat_buffer, 0L));
    STAT_CASE("newfstatat dir link AT_SYMLINK_NOFOLLOW", syscall(SYS_newfstatat, (long)directory_fd, "link", &stat_buffer, (long)AT_SYMLINK_NOFOLLOW));
    STATX_CASE("statx cwd null 0", syscall(SYS_statx, (long)AT_FDCWD, NULL, 0L, basic, &statx_buffer));
    STATX_CASE("statx cwd unterminated-at-edge 0", syscall(SYS_statx, (long)AT_FDCWD, at_edge(file, 0), 0L, basic, &statx_buffer));
    STATX_CASE("statx dir file flags=0x1", syscall(SYS_statx, (long)directory_fd, "file", 1L, basic, &statx_buffer));
    STATX_CASE("statx dir file flags=-1", syscall(SYS_statx, (long)directory_fd, "file", MINUS_ONE, basic, &statx_buffer));
    STATX_CASE("statx dir file flags=sync-force-and-dont", syscall(SYS_statx, (long)directory_fd, "file", 0x6000L, basic, &statx_buffer));
    STATX_CASE("statx dir file mask=STATX__RESERVED", syscall(SYS_statx, (long)directory_fd, "file", 0L, (long)STATX__RESERVED, &statx_buffer));
    STATX_CASE("statx -1 file 0", syscall(SYS_statx, -1L, "file", 0L, basic, &statx_buffer));

    /* The same buffers on a file without a record, one remainroot records
     * an owner for, and one it records a device for. */
    int bare = open_or_fail(in_directory("bare"), O_RDONLY);
    int file_fd = open_or_fail(file, O_RDONLY);
    /* Without CAP_MKNOD there is no m-at, and its cases fail alike. */
    int device = open(in_directory("m-at"), O_RDONLY | O_PATH);
    stat_cases_on("bare", bare);
    stat_cases_on("file", file_fd);
    stat_cases_on("m-at", device);
    close(bare);
    close(file_fd);
    if (device >= 0)
        close(device);
}

static void attribute_cases(int file_fd, int path_fd)
{
    const char *file = in_directory("file");
    const char *bare = in_directory("bare");
    const char *link = in_directory("link");
    const char *hidden = "user.rootlesscontainers";
    char long_name[300];
    memset(long_name, 'n', sizeof long_name);
    memcpy(long_name, "user.", 5);
    long_name[256] = '\0'; /* 256 bytes, one above XATTR_NAME_MAX */
    char longest_name[300];
    memcpy(longest_name, long_name, 255);
    longest_name[255] = '\0';

    VALUE_CASE("getxattr file user.test size=64", syscall(SYS_getxattr, file, "user.test", value_buffer, 64L));
    CASE("getxattr file user.test size=0", syscall(SYS_getxattr, file, "user.test", NULL, 0L));
    VALUE_CASE("getxattr file user.test size=3", syscall(SYS_getxattr, file, "user.test", value_buffer, 3L));
    VALUE_CASE("getxattr file user.test size=-1", syscall(SYS_getxattr, file, "user.test", value_buffer, MINUS_ONE));
    CASE("getxattr file user.test size=65536", syscall(SYS_getxattr, file, "user.test", large_buffer, KERNEL_MAXIMUM));
    CASE("getxattr file user.test size=65537", syscall(SYS_getxattr, file, "user.test", large_buffer, KERNEL_MAXIMUM + 1));
    VALUE_CASE("getxattr file user.test buffer=null size=64", syscall(SYS_getxattr, file, "user.test", NULL, 64L));
    VALUE_CASE("getxattr file user.test buffer=read-only", syscall(SYS_getxattr, file, "user.test", read_only_page, 64L));
    VALUE_CASE("getxattr file user.test buffer=unmapped", syscall(SYS_getxattr, file, "user.test", unmapped_page, 64L));
    VALUE_CASE("getxattr file user.test buffer=2-bytes-mapped", syscall(SYS_getxattr, file, "user.test", partly_mapped(2), 64L));
    VALUE_CASE("getxattr file name=null", syscall(SYS_getxattr, file, NULL, value_buffer, 64L));
    VALUE_CASE("getxattr file name=unmapped", syscall(SYS_getxattr, file, unmapped_page, value_buffer, 64L));
    VALUE_CASE("getxattr file name=unterminated-at-edge", syscall(SYS_getxattr, file, at_edge("user.test", 0), value_buffer, 64L));
    VALUE_CASE("getxattr file name=terminated-at-edge", syscall(SYS_getxattr, file, at_edge("user.test", 1), value_buffer, 64L));
    VALUE_CASE("getxattr file name=read-only", syscall(SYS_getxattr, file, read_only_name, value_buffer, 64L));
    VALUE_CASE("getxattr file name=empty", syscall(SYS_getxattr, file, "", value_buffer, 64L));
    VALUE_CASE("getxattr file name=256-bytes", syscall(SYS_getxattr, file, long_name, value_buffer, 64L));
    VALUE_CASE("getxattr file name=255-bytes", syscall(SYS_getxattr, file, longest_name, value_buffer, 64L));
    VALUE_CASE("getxattr file name=user.", syscall(SYS_getxattr, file, "user.", value_buffer, 64L));
    VALUE_CASE("getxattr file name=nonamespace", syscall(SYS_getxattr, file, "nonamespace", value_buffer, 64L));
    VALUE_CASE("getxattr path=null user.test", syscall(SYS_getxattr, NULL, "user.test", value_buffer, 64L));
    VALUE_CASE("getxattr path=unmapped user.test", syscall(SYS_getxattr, unmapped_page, "user.test", value_buffer, 64L));
    VALUE_CASE("getxattr path=read-only user.test", syscall(SYS_getxattr, read_only_path, "user.test", value_buffer, 64L));

    /* remainroot's own attributes do not exist for the program. */
    VALUE_CASE("getxattr file hidden size=64", syscall(SYS_getxattr, file, hidden, value_buffer, 64L));
    CASE("getxattr file hidden size=0", syscall(SYS_getxattr, file, hidden, NULL, 0L));
    VALUE_CASE("getxattr file hidden size=-1", syscall(SYS_getxattr, file, hidden, value_buffer, MINUS_ONE));
    CASE("getxattr file hidden size=65537", syscall(SYS_getxattr, file, hidden, large_buffer, KERNEL_MAXIMUM + 1));
    VALUE_CASE("getxattr file hidden buffer=unmapped", syscall(SYS_getxattr, file, hidden, unmapped_page, 64L));
    VALUE_CASE("getxattr file hidden-at-edge", syscall(SYS_getxattr, file, at_edge(hidden, 1), value_buffer, 64L));
    VALUE_CASE("getxattr file hidden-unterminated-at-edge", syscall(SYS_getxattr, file, at_edge(hidden, 0), value_buffer, 64L));
    VALUE_CASE("getxattr path=null hidden", syscall(SYS_getxattr, NULL, hidden, value_buffer, 64L));
    VALUE_CASE("getxattr path=unmapped hidden", syscall(SYS_getxattr, unmapped_page, hidden, value_buffer, 64L));
    VALUE_CASE("getxattr missing hidden", syscall(SYS_getxattr, in_directory("missing"), hidden, value_buffer, 64L));
    VALUE_CASE("getxattr m-at user.remainroot.device", syscall(SYS_getxattr, in_directory("m-at"), "user.remainroot.device", value_buffer, 64L));
    VALUE_CASE("lgetxattr link user.test", syscall(SYS_lgetxattr, link, "user.test", value_buffer, 64L));
    VALUE_CASE("lgetxattr link hidden", syscall(SYS_lgetxattr, link, hidden, value_buffer, 64L));
    VALUE_CASE("lgetxattr null hidden", syscall(SYS_lgetxattr, NULL, hidden, value_buffer, 64L));
    VALUE_CASE("fgetxattr -1 hidden", syscall(SYS_fgetxattr, -1L, hidden, value_buffer, 64L));
    VALUE_CASE("fgetxattr 9999 hidden", syscall(SYS_fgetxattr, 9999L, hidden, value_buffer, 64L));
    VALUE_CASE("fgetxattr O_PATH-fd hidden", syscall(SYS_fgetxattr, (long)path_fd, hidden, value_buffer, 64L));
    VALUE_CASE("fgetxattr O_PATH-fd user.test", syscall(SYS_fgetxattr, (long)path_fd, "user.test", value_buffer, 64L));
    VALUE_CASE("fgetxattr fd hidden", syscall(SYS_fgetxattr, (long)file_fd, hidden, value_buffer, 64L));
    VALUE_CASE("fgetxattr fd user.test size=-1", syscall(SYS_fgetxattr, (long)file_fd, "user.test", value_buffer, MINUS_ONE));

    CASE("listxattr file size=0", syscall(SYS_listxattr, file, NULL, 0L));
    VALUE_CASE("listxattr file size=64", syscall(SYS_listxattr, file, value_buffer, 64L));
    VALUE_CASE("listxattr file size=5", syscall(SYS_listxattr, file, value_buffer, 5L));
    VALUE_CASE("listxattr file size=-1", syscall(SYS_listxattr, file, value_buffer, MINUS_ONE));
    CASE("listxattr file size=65536", syscall(SYS_listxattr, file, large_buffer, KERNEL_MAXIMUM));
    CASE("listxattr file size=65537", syscall(SYS_listxattr, file, large_buffer, KERNEL_MAXIMUM + 1));
    VALUE_CASE("listxattr file buffer=null size=64", syscall(SYS_listxattr, file, NULL, 64L));
    VALUE_CASE("listxattr file buffer=read-only", syscall(SYS_listxattr, file, read_only_page, 64L));
    VALUE_CASE("listxattr file buffer=unmapped", syscall(SYS_listxattr, file, unmapped_page, 64L));
    VALUE_CASE("listxattr file buffer=4-bytes-mapped", syscall(SYS_listxattr, file, partly_mapped(4), 64L));
    VALUE_CASE("listxattr bare buffer=null size=64", syscall(SYS_listxattr, bare, NULL, 64L));
    VALUE_CASE("listxattr bare buffer=unmapped size=64", syscall(SYS_listxattr, bare, unmapped_page, 64L));
    CASE("listxattr m-at size=0", syscall(SYS_listxattr, in_directory("m-at"), NULL, 0L));
    VALUE_CASE("listxattr path=null", syscall(SYS_listxattr, NULL, value_buffer, 64L));
    VALUE_CASE("listxattr path=unmapped", syscall(SYS_listxattr, unmapped_page, value_buffer, 64L));
    VALUE_CASE("listxattr path=unterminated-at-edge", syscall(SYS_listxattr, at_edge(file, 0), value_buffer, 64L));
    VALUE_CASE("listxattr missing", syscall(SYS_listxattr, in_directory("missing"), value_buffer, 64L));
    VALUE_CASE("llistxattr link size=64", syscall(SYS_llistxattr, link, value_buffer, 64L));
    VALUE_CASE("llistxattr null", syscall(SYS_llistxattr, NULL, value_buffer, 64L));
    VALUE_CASE("flistxattr -1", syscall(SYS_flistxattr, -1L, value_buffer, 64L));
    VALUE_CASE("flistxattr O_PATH-fd", syscall(SYS_flistxattr, (long)path_fd, value_buffer, 64L));
    VALUE_CASE("flistxattr fd size=64", syscall(SYS_flistxattr, (long)file_fd, value_buffer, 64L));
    VALUE_CASE("flistxattr fd size=-1", syscall(SYS_flistxattr, (long)file_fd, value_buffer, MINUS_ONE));
    VALUE_CASE("flistxattr fd buffer=2-bytes-mapped", syscall(SYS_flistxattr, (long)file_fd, partly_mapped(2), 64L));
}

/* Calls that create files, made once with filesystem ids 0 and once with
 * 1000, whose new files remainroot records. Without CAP_SETUID the
 * setfsuid and setfsgid calls change nothing. */
static void creation_cases(int directory_fd, const char *as, long fsuid)
{
    char label[256];
    char name[64];
#define LABEL(text) (snprintf(label, sizeof label, "%s %s", as, text), label)
#define NAME(text) (snprintf(name, sizeof name, "public/%s-%s", as, text), in_directory(name))
#define AS_USER(call) (syscall(SYS_setfsgid, fsuid), syscall(SYS_setfsuid, fsuid), (call))

    DESCRIPTOR_CASE(LABEL("open null O_CREAT"), AS_USER(syscall(SYS_open, NULL, (long)(O_CREAT | O_WRONLY), 0644L)));
    DESCRIPTOR_CASE(LABEL("open unmapped O_CREAT"), AS_USER(syscall(SYS_open, unmapped_page, (long)(O_CREAT | O_WRONLY), 0644L)));
    DESCRIPTOR_CASE(LABEL("open unterminated-at-edge O_CREAT"), AS_USER(syscall(SYS_open, at_edge(NAME("o-edge"), 0), (long)(O_CREAT | O_WRONLY), 0644L)));
    DESCRIPTOR_CASE(LABEL("open terminated-at-edge O_CREAT"), AS_USER(syscall(SYS_open, at_edge(NAME("o-edge"), 1), (long)(O_CREAT | O_WRONLY), 0644L)));
    STAT_CASE(LABEL("stat o-edge"), syscall(SYS_stat, NAME("o-edge"), &stat_buffer));
    DESCRIPTOR_CASE(LABEL("open O_CREAT|O_DIRECTORY"), AS_USER(syscall(SYS_open, NAME("o-dir"), (long)(O_CREAT | O_DIRECTORY), 0644L)));
    DESCRIPTOR_CASE(LABEL("open flags=-1"), AS_USER(syscall(SYS_open, NAME("o-minus"), MINUS_ONE, 0644L)));
    DESCRIPTOR_CASE(LABEL("openat -1 relative O_CREAT"), AS_USER(syscall(SYS_openat, -1L, "o-rel", (long)(O_CREAT | O_WRONLY), 0644L)));
    DESCRIPTOR_CASE(LABEL("openat cwd null O_CREAT"), AS_USER(syscall(SYS_openat, (long)AT_FDCWD, NULL, (long)(O_CREAT | O_WRONLY), 0644L)));
    DESCRIPTOR_CASE(LABEL("openat cwd O_CREAT|O_EXCL twice"), AS_USER((syscall(SYS_openat, (long)AT_FDCWD, NAME("o-excl"), (long)(O_CREAT | O_EXCL | O_WRONLY), 0600L), syscall(SYS_openat, (long)AT_FDCWD, NAME("o-excl"), (long)(O_CREAT | O_EXCL | O_WRONLY), 0600L))));
    DESCRIPTOR_CASE(LABEL("openat2 how=null"), AS_USER(syscall(SYS_openat2, (long)AT_FDCWD, NAME("o2"), NULL, (long)sizeof(struct open_how))));
    DESCRIPTOR_CASE(LABEL("openat2 how=unmapped"), AS_USER(syscall(SYS_openat2, (long)AT_FDCWD, NAME("o2"), unmapped_page, (long)sizeof(struct open_how))));
    DESCRIPTOR_CASE(LABEL("openat2 size=0"), AS_USER(syscall(SYS_openat2, (long)AT_FDCWD, NAME("o2"), value_buffer, 0L)));
    DESCRIPTOR_CASE(LABEL("openat2 how=4-bytes-mapped"), AS_USER(syscall(SYS_openat2, (long)AT_FDCWD, NAME("o2"), partly_mapped(4), (long)sizeof(struct open_how))));
    DESCRIPTOR_CASE(LABEL("creat null"), AS_USER(syscall(SYS_creat, NULL, 0644L)));
    DESCRIPTOR_CASE(LABEL("creat unmapped"), AS_USER(syscall(SYS_creat, unmapped_page, 0644L)));
    DESCRIPTOR_CASE(LABEL("creat good"), AS_USER(syscall(SYS_creat, NAME("c"), 0644L)));
    STAT_CASE(LABEL("stat c"), syscall(SYS_stat, NAME("c"), &stat_buffer));
    CASE(LABEL("mkdir null"), AS_USER(syscall(SYS_mkdir, NULL, 0755L)));
    CASE(LABEL("mkdir unterminated-at-edge"), AS_USER(syscall(SYS_mkdir, at_edge(NAME("d"), 0), 0755L)));
    CASE(LABEL("mkdir terminated-at-edge"), AS_USER(syscall(SYS_mkdir, at_edge(NAME("d"), 1), 0755L)));
    STAT_CASE(LABEL("stat d"), syscall(SYS_stat, NAME("d"), &stat_buffer));
    CASE(LABEL("mkdirat -1 relative"), AS_USER(syscall(SYS_mkdirat, -1L, "d-rel", 0755L)));
    CASE(LABEL("mkdirat dir unmapped"), AS_USER(syscall(SYS_mkdirat, (long)directory_fd, unmapped_page, 0755L)));
    CASE(LABEL("symlink target=null"), AS_USER(syscall(SYS_symlink, NULL, NAME("s"))));
    CASE(LABEL("symlink path=null"), AS_USER(syscall(SYS_symlink, "file", NULL)));
    CASE(LABEL("symlink path=unmapped"), AS_USER(syscall(SYS_symlink, "file", unmapped_page)));
    CASE(LABEL("symlink good"), AS_USER(syscall(SYS_symlink, "../file", NAME("s"))));
    STAT_CASE(LABEL("lstat s"), syscall(SYS_lstat, NAME("s"), &stat_buffer));
    CASE(LABEL("symlinkat -1 relative"), AS_USER(syscall(SYS_symlinkat, "file", -1L, "s-rel")));
    CASE(LABEL("symlinkat dir null"), AS_USER(syscall(SYS_symlinkat, "file", (long)directory_fd, NULL)));
    CASE(LABEL("mknod fifo unterminated-at-edge"), AS_USER(syscall(SYS_mknod, at_edge(NAME("f"), 0), (long)(S_IFIFO | 0600), 0L)));
    CASE(LABEL("mknod fifo good"), AS_USER(syscall(SYS_mknod, NAME("f"), (long)(S_IFIFO | 0600), 0L)));
    STAT_CASE(LABEL("stat f"), syscall(SYS_stat, NAME("f"), &stat_buffer));
#undef LABEL
#undef NAME
#undef AS_USER
}

static void credential_cases(void)
{
    uint32_t *ids = (uint32_t *)large_buffer;
    const void *none = none_page;

    CASE("setuid -1", syscall(SYS_setuid, MINUS_ONE));
    CASE("setuid 0xFFFFFFFE", syscall(SYS_setuid, ID_FFFFFFFE));
    CASE("setuid 0xFFFFFFFF", syscall(SYS_setuid, ID_FFFFFFFF));
    CASE("setgid 0xFFFFFFFE", syscall(SYS_setgid, ID_FFFFFFFE));
    CASE("setgid 0xFFFFFFFF", syscall(SYS_setgid, ID_FFFFFFFF));
    CASE("setreuid -1 0xFFFFFFFE", syscall(SYS_setreuid, MINUS_ONE, ID_FFFFFFFE));
    CASE("setregid 0xFFFFFFFF 0xFFFFFFFE", syscall(SYS_setregid, ID_FFFFFFFF, ID_FFFFFFFE));
    CASE("setresuid 0xFFFFFFFE -1 0xFFFFFFFF", syscall(SYS_setresuid, ID_FFFFFFFE, MINUS_ONE, ID_FFFFFFFF));
    CASE("setresgid -1 -1 -1", syscall(SYS_setresgid, MINUS_ONE, MINUS_ONE, MINUS_ONE));
    CASE("setfsuid 0xFFFFFFFE then -1", (syscall(SYS_setfsuid, ID_FFFFFFFE), syscall(SYS_setfsuid, MINUS_ONE)));
    CASE("setfsgid 0xFFFFFFFF", syscall(SYS_setfsgid, ID_FFFFFFFF));
    CASE("getresuid null null null", syscall(SYS_getresuid, NULL, NULL, NULL));
    CASE("getresuid read-only", syscall(SYS_getresuid, read_only_page, ids, ids + 1));
    CASE("getresuid 2-bytes-mapped", syscall(SYS_getresuid, ids, ids + 1, partly_mapped(2)));
    CASE("getresgid unmapped", syscall(SYS_getresgid, ids, unmapped_page, ids + 1));
    CASE("getgroups 0 null", syscall(SYS_getgroups, 0L, NULL));
    CASE("getgroups -1 buffer", syscall(SYS_getgroups, MINUS_ONE, ids));
    CASE("getgroups 65536 buffer", syscall(SYS_getgroups, KERNEL_MAXIMUM, ids));
    CASE("getgroups 65537 buffer", syscall(SYS_getgroups, KERNEL_MAXIMUM + 1, ids));
    CASE("getgroups 1 buffer", syscall(SYS_getgroups, 1L, ids));
    CASE("getgroups 2 null", syscall(SYS_getgroups, 2L, NULL));
    CASE("getgroups 2 read-only", syscall(SYS_getgroups, 2L, read_only_page));
    CASE("getgroups 2 unmapped", syscall(SYS_getgroups, 2L, unmapped_page));
    CASE("getgroups 2 6-bytes-mapped", syscall(SYS_getgroups, 2L, partly_mapped(6)));
    CASE("setgroups 0 null", syscall(SYS_setgroups, 0L, NULL));
    CASE("setgroups -1 buffer", syscall(SYS_setgroups, MINUS_ONE, ids));
    CASE("setgroups 65536 buffer", syscall(SYS_setgroups, KERNEL_MAXIMUM, ids));
    CASE("setgroups 65537 buffer", syscall(SYS_setgroups, KERNEL_MAXIMUM + 1, ids));
    CASE("setgroups 1 null", syscall(SYS_setgroups, 1L, NULL));
    CASE("setgroups 1 unmapped", syscall(SYS_setgroups, 1L, unmapped_page));
    CASE("setgroups 1 none-page", syscall(SYS_setgroups, 1L, none));
    CASE("setgroups 2 4-bytes-mapped", syscall(SYS_setgroups, 2L, partly_mapped(4)));
    CASE("setgroups 1 read-only", syscall(SYS_setgroups, 1L, read_only_page));
    CASE("setgroups 2 [5 0xFFFFFFFF]", (ids[0] = 5, ids[1] = 0xFFFFFFFFu, syscall(SYS_setgroups, 2L, ids)));
    CASE("setgroups 1 [0xFFFFFFFE]", (ids[0] = 0xFFFFFFFEu, syscall(SYS_setgroups, 1L, ids)));
    CASE("capget null null", syscall(SYS_capget, NULL, NULL));
    CASE("capget unmapped null", syscall(SYS_capget, unmapped_page, NULL));
    CASE("capset null null", syscall(SYS_capset, NULL, NULL));
    CASE("capset header=read-only data=null", syscall(SYS_capset, read_only_page, NULL));
    CASE("prctl PR_SET_KEEPCAPS -1", syscall(SYS_prctl, (long)PR_SET_KEEPCAPS, MINUS_ONE, 0L, 0L, 0L));
    CASE("prctl PR_CAPBSET_READ -1", syscall(SYS_prctl, (long)PR_CAPBSET_READ, MINUS_ONE, 0L, 0L, 0L));
    CASE("prctl PR_CAPBSET_DROP 0xFFFFFFFF", syscall(SYS_prctl, (long)PR_CAPBSET_DROP, ID_FFFFFFFF, 0L, 0L, 0L));
    CASE("prctl PR_CAP_AMBIENT -1", syscall(SYS_prctl, (long)PR_CAP_AMBIENT, MINUS_ONE, 0L, 0L, 0L));
    CASE("prctl PR_SET_SECUREBITS -1", syscall(SYS_prctl, (long)PR_SET_SECUREBITS, MINUS_ONE, 0L, 0L, 0L));
}

static void other_cases(void)
{
    CASE("clone3 null size=88", syscall(SYS_clone3, NULL, 88L));
    CASE("clone3 unmapped size=88", syscall(SYS_clone3, unmapped_page, 88L));
    CASE("clone3 buffer size=0", syscall(SYS_clone3, value_buffer, 0L));
    CASE("clone3 4-bytes-mapped size=88", syscall(SYS_clone3, partly_mapped(4), 88L));
    CASE("clone flags=CLONE_UNTRACED|CLONE_NEWUSER|CLONE_FS", syscall(SYS_clone, (long)(CLONE_UNTRACED | CLONE_NEWUSER | CLONE_FS), NULL, NULL, NULL, 0L));
    CASE("chroot null", syscall(SYS_chroot, NULL));
    CASE("chroot unmapped", syscall(SYS_chroot, unmapped_page));
    CASE("chroot missing", syscall(SYS_chroot, in_directory("missing")));
    CASE("chroot file", syscall(SYS_chroot, in_directory("file")));
    CASE("unshare -1", syscall(SYS_unshare, MINUS_ONE));
    CASE("setns -1 0", syscall(SYS_setns, -1L, 0L));
    CASE("setns 9999 0", syscall(SYS_setns, 9999L, 0L));
    CASE("seccomp 99 0 null", syscall(SYS_seccomp, 99L, 0L, NULL));
    CASE("seccomp SECCOMP_SET_MODE_FILTER 0 null", syscall(SYS_seccomp, 1L, 0L, NULL));
    CASE("seccomp SECCOMP_SET_MODE_FILTER -1 null", syscall(SYS_seccomp, 1L, MINUS_ONE, NULL));
    CASE("ptrace PTRACE_PEEKDATA 0x7FFFFFFF", syscall(SYS_ptrace, 2L, 0x7FFFFFFFL, NULL, NULL));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bad-arguments DIR\n");
        return 2;
    }
    directory = argv[1];
    map_pages();
    prepare_files();

    /* Two supplementary groups, so that getgroups has something to copy
     * and a size of 1 is too small. Without CAP_SETGID this fails, and the
     * program goes on with the groups it has. */
    gid_t groups[2] = {1, 2};
    errno = 0;
    long result = syscall(SYS_setgroups, 2L, groups);
    print_result("setgroups 2 [1 2] for every case", result, errno, SHOW_RESULT, "");

    int directory_fd = open_or_fail(directory, O_RDONLY | O_DIRECTORY);
    int file_fd = open_or_fail(in_directory("file"), O_RDONLY);
    int path_fd = open_or_fail(in_directory("file"), O_PATH);
    if (chdir(directory) != 0)
        fail("chdir failed");

    chown_cases(directory_fd, file_fd, path_fd);
    mknod_cases(directory_fd, file_fd);
    stat_cases(directory_fd);
    attribute_cases(file_fd, path_fd);
    creation_cases(directory_fd, "fsid-0", 0L);
    creation_cases(directory_fd, "fsid-1000", 1000L);
    credential_cases();
    other_cases();
    return 0;
}
