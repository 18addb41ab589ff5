/*
 * The bare libmodbus baseline for bench/modbus.sh: the same merged reads fieldlink's plan makes for
 * one device, round-robin over the units, as fast as possible, with no MQTT, no JSON, no threads.
 *
 *   modbus_baseline PORT UNITS READS SILENCE_US SECONDS
 *     PORT        serial device (a socat pty), opened RTU 115200 8N1, response timeout 500 ms
 *     UNITS       comma-separated slave ids, e.g. 1,2,3,4
 *     READS       input-register reads per device poll, ADDRESS:COUNT,... e.g. 0:76,342:8
 *     SILENCE_US  quiet time kept between the end of one transaction and the next request (the RTU
 *                 3.5-character rule: 1750 above 19200 baud); 0 sends back to back
 *     SECONDS     how long to run
 *
 * Prints one machine-readable line:
 *   transactions=N polls=N errors=N seconds=S
 */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT UNITS READS SILENCE_US SECONDS\n", argv[0]);
        return 2;
    }
    int units[247], unit_count = 0;
    char *list = strdup(argv[2]);
    for (char *token = strtok(list, ","); token && unit_count < 247; token = strtok(NULL, ",")) units[unit_count++] = atoi(token);
    free(list);
    int addresses[64], counts[64], read_count = 0;
    list = strdup(argv[3]);
    for (char *token = strtok(list, ","); token && read_count < 64; token = strtok(NULL, ",")) {
        if (sscanf(token, "%d:%d", &addresses[read_count], &counts[read_count]) == 2) read_count++;
    }
    free(list);
    double silence = atof(argv[4]) / 1e6;
    double seconds = atof(argv[5]);
    if (unit_count == 0 || read_count == 0 || seconds <= 0) {
        fprintf(stderr, "modbus_baseline: bad arguments\n");
        return 2;
    }

    modbus_t *ctx = modbus_new_rtu(argv[1], 115200, 'N', 8, 1);
    if (!ctx) {
        fprintf(stderr, "modbus_baseline: modbus_new_rtu: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_NONE); /* as fieldlink does */
    modbus_set_response_timeout(ctx, 0, 500000);
    if (modbus_connect(ctx) != 0) {
        fprintf(stderr, "modbus_baseline: open %s: %s\n", argv[1], modbus_strerror(errno));
        modbus_free(ctx);
        return 1;
    }

    uint16_t registers[MODBUS_MAX_READ_REGISTERS];
    long transactions = 0, polls = 0, errors = 0;
    double start = now_seconds(), elapsed = 0, last_end = 0;
    int next = 0;
    while ((elapsed = now_seconds() - start) < seconds) {
        modbus_set_slave(ctx, units[next]);
        int ok = 1;
        for (int r = 0; r < read_count; r++) {
            double quiet = silence - (now_seconds() - last_end);
            if (last_end > 0 && quiet > 0) usleep((useconds_t)(quiet * 1e6));
            if (modbus_read_input_registers(ctx, addresses[r], counts[r], registers) == counts[r]) {
                transactions++;
            } else {
                errors++;
                ok = 0;
                modbus_flush(ctx);
            }
            last_end = now_seconds();
        }
        polls += ok;
        next = (next + 1) % unit_count;
    }
    printf("transactions=%ld polls=%ld errors=%ld seconds=%.3f\n", transactions, polls, errors, elapsed);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
