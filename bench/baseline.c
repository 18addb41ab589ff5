/*
 * The bare C-speed baseline for bench/run.sh: a loop of libmodbus reads with no MQTT, no JSON,
 * no threads. It does what fieldlink's poll does on the wire, per device, as fast as possible:
 * modbus_set_slave + modbus_read_registers (one merged holding-register read per device),
 * round-robin over the units, for a fixed time.
 *
 *   baseline PORT UNITS ADDRESS COUNT SECONDS [SILENCE_US]
 *     PORT     serial device (a socat pty), opened RTU 19200 8N1, response timeout 500 ms
 *     UNITS    comma-separated slave ids, e.g. 1,2,3,4
 *     ADDRESS  first holding register (zero-based protocol address)
 *     COUNT    registers per read
 *     SECONDS  how long to run
 *     SILENCE_US  optional: quiet time kept between the end of one transaction and the next request,
 *              the RTU 3.5-character rule fieldlink keeps (2005 at 19200 baud); default 0, back to back
 *
 * Prints one machine-readable line:
 *   reads=N errors=N seconds=S cpu=S utime=S stime=S maxrss_kb=N
 * where reads counts successful polls (one reading = one device poll) and cpu is this
 * process's user+system time (getrusage) over the measured loop only.
 */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_seconds(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: %s PORT UNITS ADDRESS COUNT SECONDS [SILENCE_US]\n", argv[0]);
        return 2;
    }
    const char *port = argv[1];
    int units[247];
    int unit_count = 0;
    char *list = strdup(argv[2]);
    for (char *token = strtok(list, ","); token && unit_count < 247; token = strtok(NULL, ",")) {
        units[unit_count++] = atoi(token);
    }
    free(list);
    int address = atoi(argv[3]);
    int count = atoi(argv[4]);
    double seconds = atof(argv[5]);
    double silence = argc == 7 ? atof(argv[6]) / 1e6 : 0;
    if (unit_count == 0 || count < 1 || count > MODBUS_MAX_READ_REGISTERS || seconds <= 0) {
        fprintf(stderr, "baseline: bad arguments\n");
        return 2;
    }

    modbus_t *ctx = modbus_new_rtu(port, 19200, 'N', 8, 1);
    if (!ctx) {
        fprintf(stderr, "baseline: modbus_new_rtu: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_NONE);  /* as fieldlink does */
    modbus_set_response_timeout(ctx, 0, 500000);
    if (modbus_connect(ctx) != 0) {
        fprintf(stderr, "baseline: open %s: %s\n", port, modbus_strerror(errno));
        modbus_free(ctx);
        return 1;
    }

    uint16_t registers[MODBUS_MAX_READ_REGISTERS];
    long reads = 0, errors = 0;
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    double start = now_seconds();
    double elapsed = 0;
    int next = 0;
    double last_end = 0;
    while ((elapsed = now_seconds() - start) < seconds) {
        double quiet = silence - (now_seconds() - last_end);
        if (last_end > 0 && quiet > 0) usleep((useconds_t)(quiet * 1e6));
        modbus_set_slave(ctx, units[next]);
        if (modbus_read_registers(ctx, address, count, registers) == count) {
            reads++;
        } else {
            errors++;
            modbus_flush(ctx);  /* a late reply must not be taken for the next one */
        }
        last_end = now_seconds();
        next = (next + 1) % unit_count;
    }
    getrusage(RUSAGE_SELF, &after);

    double utime = tv_seconds(after.ru_utime) - tv_seconds(before.ru_utime);
    double stime = tv_seconds(after.ru_stime) - tv_seconds(before.ru_stime);
    printf("reads=%ld errors=%ld seconds=%.3f cpu=%.4f utime=%.4f stime=%.4f maxrss_kb=%ld\n",
           reads, errors, elapsed, utime + stime, utime, stime, after.ru_maxrss);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
