// The 16-bit id calls of the i386 ABI, which glibc no longer makes: a 16-bit
// -1 (0xFFFF) leaves an id unchanged, and getresuid writes 16-bit values.
// Prints what each call returned. i386 only.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#ifndef __i386__
#error "sixteen-bit-ids.c is an i386 program"
#endif

// Numbers from asm/unistd_32.h.
enum {
    getuid16 = 24, setgroups16 = 81, setresuid16 = 164, getresuid16 = 165, setresuid32 = 208,
};

static long call(long number, long a, long b, long c) {
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(number), "b"(a), "c"(b), "d"(c) : "memory");
    return result;
}

int main(void) {
    uint16_t ids[3] = { 1, 1, 1 };
    printf("setgroups16 %ld\n", call(setgroups16, 0, 0, 0));
    printf("setresuid32 %ld\n", call(setresuid32, 70000, 0, 0));
    printf("getuid16 %ld\n", call(getuid16, 0, 0, 0));
    printf("setresuid16 %ld\n", call(setresuid16, 0xFFFF, 1000, 0xFFFF));
    printf("getresuid16 %ld", call(getresuid16, (long)&ids[0], (long)&ids[1], (long)&ids[2]));
    printf(" %u %u %u\n", ids[0], ids[1], ids[2]);
    printf("setresuid16 %ld\n", call(setresuid16, 1234, 0xFFFF, 0xFFFF));
    return 0;
}
