/* Crashes three calls deep: main calls crash_level_one, which calls
 * crash_level_two, which calls crash_level_three, which writes through a
 * NULL pointer. Built with -O0 so that every function keeps its own frame
 * and name, for the stack report of remainroot --debug. An argument
 * "handled" installs a SIGSEGV handler first, which exits with status 3:
 * a program that handles the signal gets no report. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) void crash_level_three(volatile int *pointer) {
    *pointer = 42;
}

__attribute__((noinline)) void crash_level_two(volatile int *pointer) {
    crash_level_three(pointer);
}

__attribute__((noinline)) void crash_level_one(volatile int *pointer) {
    crash_level_two(pointer);
}

static void exit_on_signal(int signal_number) {
    (void)signal_number;
    _exit(3);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "handled") == 0) {
        signal(SIGSEGV, exit_on_signal);
    }
    crash_level_one(NULL);
    return 0;
}
