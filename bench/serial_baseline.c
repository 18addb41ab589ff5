// The serial bench's baseline: the least a program can do with a text stream on a pty. It opens the
// port raw and non-blocking (as fieldlink does), waits in poll(), reads 4 KiB at a time and counts
// newlines, until it has seen FRAMES of them. Same syscalls as fieldlink's reader, no parsing.
//
//   serial_baseline PORT FRAMES     prints "frames= seconds= cpu=" when done (cpu: user+system s, getrusage)
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: serial_baseline PORT FRAMES\n");
        return 2;
    }
    long want = atol(argv[2]);
    int fd = open(argv[1], O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    struct termios settings;
    if (tcgetattr(fd, &settings) == 0) {
        cfmakeraw(&settings);
        settings.c_cc[VMIN] = 0;
        settings.c_cc[VTIME] = 0;
        tcsetattr(fd, TCSANOW, &settings);
    }
    fprintf(stderr, "ready\n");
    char buffer[4096];
    long frames = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (frames < want) {
        struct pollfd entry = {.fd = fd, .events = POLLIN};
        int ready = poll(&entry, 1, 200);
        if (ready < 0 && errno != EINTR) return 1;
        if (ready <= 0) continue;
        ssize_t count = read(fd, buffer, sizeof buffer);
        if (count < 0 && errno != EAGAIN && errno != EINTR) return 1;
        for (ssize_t i = 0; i < count; i++) frames += buffer[i] == '\n';
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    printf("frames=%ld seconds=%.3f cpu=%.4f\n", frames, (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9, cpu);
    return 0;
}
