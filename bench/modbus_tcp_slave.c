/*
 * A Modbus-TCP slave for bench/soak.sh and bench/chaos.sh: libmodbus answering every unit id from one
 * register map, on 127.0.0.1:PORT, to any number of connections at once (one select loop).
 *
 *   modbus_tcp_slave PORT
 *
 * Why not pymodbus: at 2,000 requests/s (20 devices at the 10 ms minimum interval) a Python slave
 * takes most of a core on a 2-core machine that the gateway under test shares; this one takes a few
 * per cent, so the soak measures the gateway, not the slave.
 *
 * The map holds 10 holding registers at address 0; register 9 counts the requests answered (so each
 * reading differs from the last). Prints "listening on PORT" to stderr once it accepts connections,
 * and "served N requests" when SIGTERM or SIGINT stops it.
 */
#include <errno.h>
#include <modbus.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void stop(int signal_number) { (void)signal_number; stopping = 1; }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_mapping_t *map = modbus_mapping_new(0, 0, 10, 0);
    if (ctx == NULL || map == NULL) {
        fprintf(stderr, "modbus_tcp_slave: %s\n", modbus_strerror(errno));
        return 1;
    }
    for (int i = 0; i < 9; i++) map->tab_registers[i] = (uint16_t)(1000 + i);
    int server = modbus_tcp_listen(ctx, 64);
    if (server < 0) {
        fprintf(stderr, "modbus_tcp_slave: listen on 127.0.0.1:%d: %s\n", port, modbus_strerror(errno));
        return 1;
    }
    struct sigaction action = {0};
    action.sa_handler = stop;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "listening on %d\n", port);

    fd_set all;
    FD_ZERO(&all);
    FD_SET(server, &all);
    int highest = server;
    unsigned long long served = 0;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    while (!stopping) {
        fd_set ready = all;
        if (select(highest + 1, &ready, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            perror("modbus_tcp_slave: select");
            return 1;
        }
        for (int fd = 0; fd <= highest; fd++) {
            if (!FD_ISSET(fd, &ready)) continue;
            if (fd == server) {
                int client = accept(server, NULL, NULL);  /* not modbus_tcp_accept: it may close the listener on an error */
                if (client < 0) continue;
                if (client >= FD_SETSIZE) { close(client); continue; }
                FD_SET(client, &all);
                if (client > highest) highest = client;
                continue;
            }
            modbus_set_socket(ctx, fd);
            int length = modbus_receive(ctx, query);
            if (length > 0) {
                map->tab_registers[9]++;
                served++;
                modbus_reply(ctx, query, length, map);
            } else if (length < 0) {
                close(fd);
                FD_CLR(fd, &all);
            }
        }
    }
    fprintf(stderr, "served %llu requests\n", served);
    return 0;
}
