// Gives files away and makes a device in the folder named by argv[1], then
// reads owners, modes and device numbers back through glibc's lstat (statx
// on i386 with Debian 12's glibc 2.36) and the attribute list through
// listxattr. Built with -m32 for the i386 tests.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static void show(const char *path) {
    struct stat status;
    if (lstat(path, &status) != 0) {
        printf("%s: lstat %s\n", path, strerror(errno));
        return;
    }
    char kind = S_ISCHR(status.st_mode) ? 'c' : S_ISBLK(status.st_mode) ? 'b' : S_ISDIR(status.st_mode) ? 'd' : '-';
    printf("%s: %c %o %u:%u", path, kind, (unsigned)(status.st_mode & 07777), (unsigned)status.st_uid, (unsigned)status.st_gid);
    if (kind == 'c' || kind == 'b') {
        printf(" %u,%u", major(status.st_rdev), minor(status.st_rdev));
    }
    char names[256];
    ssize_t length = listxattr(path, names, sizeof names);
    printf(" xattrs %zd\n", length);
}

int main(int argc, char **argv) {
    if (argc != 2 || chdir(argv[1]) != 0) {
        return 2;
    }

    int fd = openat(AT_FDCWD, "file", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "data\n", 5) != 5 || close(fd) != 0) {
        return 3;
    }
    if (chown("file", 1000, 1001) != 0 || mkdir("folder", 0755) != 0 || chown("folder", 2000, 2000) != 0) {
        perror("chown");
        return 4;
    }
    if (mknod("null", S_IFCHR | 0666, makedev(1, 3)) != 0) {
        perror("mknod");
        return 5;
    }

    show("file");
    show("folder");
    show("null");
    return 0;
}
