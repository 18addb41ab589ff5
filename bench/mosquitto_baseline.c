/*
 * Bare libmosquitto publish loop: the baseline for the ring's drain rate (bench/ring.sh) and for the
 * publish throughput at QoS 0/1/2 over TCP and TLS (bench/mqtt.sh).
 *
 *   mosquitto_baseline HOST PORT COUNT MAX_INFLIGHT TOPIC_PREFIX PAYLOAD [QOS [CA_FILE [LOOP]]]
 *
 * MQTT 5 and TCP_NODELAY like fieldlink's client. The network loop runs on libmosquitto's own thread
 * (mosquitto_loop_start); the main thread publishes COUNT messages of PAYLOAD's size at QOS
 * (default 1), keeping at most MAX_INFLIGHT unacknowledged (the same window fieldlink's publisher
 * keeps, also set in libmosquitto with mosquitto_max_inflight_messages_set), and counts completions
 * in the publish callback: the PUBACK at QoS 1, the PUBCOMP at QoS 2, and at QoS 0 the hand-over to
 * the socket (libmosquitto calls the callback once the PUBLISH is written). A non-empty CA_FILE turns
 * on TLS (mosquitto_tls_set with that CA, server verified, host name checked, TLS 1.2 minimum, as
 * fieldlink configures it): HOST must then be the name in the server's certificate. The clock starts
 * at CONNACK (after the TLS handshake) and stops at the last completion.
 *
 * LOOP is `thread` (the default, described above) or `external`: one thread that polls the socket and
 * runs mosquitto_loop_read/_write/_misc itself and publishes between them, the way fieldlink's
 * connection thread drives libmosquitto (without the ring). Prints one line:
 *
 *   msgs= seconds= cpu= refused= payload_bytes= qos= tls= loop=
 */
#include <poll.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static long acked, refused;
static int connected, failed;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void on_connect(struct mosquitto *m, void *ctx, int rc, int flags, const mosquitto_property *props) {
    (void)m; (void)ctx; (void)flags; (void)props;
    pthread_mutex_lock(&lock);
    if (rc == 0) connected = 1; else failed = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_publish(struct mosquitto *m, void *ctx, int mid, int reason, const mosquitto_property *props) {
    (void)m; (void)ctx; (void)mid; (void)props;
    pthread_mutex_lock(&lock);
    acked++;
    if (reason >= 0x80) refused++;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_disconnect(struct mosquitto *m, void *ctx, int rc, const mosquitto_property *props) {
    (void)m; (void)ctx; (void)props;
    pthread_mutex_lock(&lock);
    if (rc != 0) failed = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* One turn of an external loop: poll the socket, then read, write and keepalive. 0, or a MOSQ_ERR_*. */
static int step(struct mosquitto *m, int timeout_ms) {
    struct pollfd fd = { .fd = mosquitto_socket(m), .events = POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0) };
    if (fd.fd < 0) return MOSQ_ERR_NO_CONN;
    poll(&fd, 1, timeout_ms);
    int rc = MOSQ_ERR_SUCCESS;
    if (fd.revents & (POLLIN | POLLHUP | POLLERR)) rc = mosquitto_loop_read(m, 1);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(m)) rc = mosquitto_loop_write(m, 1);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(m);
    return rc;
}

/* The external-loop variant: everything on this thread. The callbacks still take the (uncontended) lock. */
static int run_external(struct mosquitto *m, long count, int inflight, int qos, char topics[8][256], int payload_len,
                        const char *payload, int tls) {
    while (!connected && !failed) {
        if (step(m, 1000) != MOSQ_ERR_SUCCESS) failed = 1;
    }
    if (failed) { fprintf(stderr, "baseline: connection refused or lost\n"); return 1; }
    double cpu0 = cpu(), t0 = now();
    long sent = 0;
    while (acked < count && !failed) {
        /* At QoS 0 the callback may run inside mosquitto_publish_v5 (written at once): acked moves here too. */
        while (sent < count && sent - acked < inflight) {
            int rc = mosquitto_publish_v5(m, NULL, topics[sent & 7], payload_len, payload, qos, false, NULL);
            if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "baseline: publish: %s\n", mosquitto_strerror(rc)); return 1; }
            sent++;
        }
        if (acked >= count) break;
        int rc = step(m, sent - acked < inflight && sent < count ? 0 : 1000);
        if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "baseline: loop: %s\n", mosquitto_strerror(rc)); failed = 1; }
    }
    double t1 = now(), cpu1 = cpu();
    long done = acked;
    mosquitto_disconnect_v5(m, 0, NULL);
    mosquitto_loop_write(m, 1);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    printf("msgs=%ld seconds=%.4f cpu=%.3f refused=%ld payload_bytes=%d qos=%d tls=%d loop=external\n", done, t1 - t0, cpu1 - cpu0, refused,
           payload_len, qos, tls);
    return done == count ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 7 || argc > 10) {
        fprintf(stderr, "usage: %s HOST PORT COUNT MAX_INFLIGHT TOPIC_PREFIX PAYLOAD [QOS [CA_FILE [thread|external]]]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    long count = atol(argv[3]);
    int inflight = atoi(argv[4]);
    const char *prefix = argv[5];
    const char *payload = argv[6];
    int payload_len = (int)strlen(payload);
    int qos = argc > 7 ? atoi(argv[7]) : 1;
    const char *cafile = argc > 8 && argv[8][0] ? argv[8] : NULL;
    if (qos < 0 || qos > 2) { fprintf(stderr, "baseline: QOS is 0, 1 or 2\n"); return 2; }
    const char *loop = argc > 9 ? argv[9] : "thread";
    int external = strcmp(loop, "external") == 0;
    if (!external && strcmp(loop, "thread") != 0) { fprintf(stderr, "baseline: LOOP is thread or external\n"); return 2; }
    char topics[8][256];
    for (int i = 0; i < 8; i++) snprintf(topics[i], sizeof topics[i], "%s%d", prefix, i);

    mosquitto_lib_init();
    char id[64];
    snprintf(id, sizeof id, "ring-bench-baseline-%d", (int)getpid());
    struct mosquitto *m = mosquitto_new(id, true, NULL);
    if (!m) { perror("mosquitto_new"); return 1; }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, inflight);
    mosquitto_max_inflight_messages_set(m, (unsigned)inflight);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    if (cafile) {
        int rc = mosquitto_tls_set(m, cafile, NULL, NULL, NULL, NULL);
        if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_opts_set(m, 1, "tlsv1.2", NULL);  /* 1 = SSL_VERIFY_PEER */
        if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "baseline: TLS setup: %s\n", mosquitto_strerror(rc)); return 1; }
    }
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_publish_v5_callback_set(m, on_publish);
    mosquitto_disconnect_v5_callback_set(m, on_disconnect);

    if (mosquitto_connect_bind_v5(m, host, port, 30, NULL, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "baseline: cannot connect to %s:%d\n", host, port);
        return 1;
    }
    if (external) return run_external(m, count, inflight, qos, topics, payload_len, payload, cafile != NULL);
    if (mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) { fprintf(stderr, "baseline: loop_start failed\n"); return 1; }

    pthread_mutex_lock(&lock);
    while (!connected && !failed) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    if (failed) { fprintf(stderr, "baseline: connection refused or lost\n"); return 1; }

    double cpu0 = cpu(), t0 = now();
    long sent = 0;
    while (sent < count) {
        pthread_mutex_lock(&lock);
        while (sent - acked >= inflight && !failed) pthread_cond_wait(&changed, &lock);
        long room = inflight - (sent - acked);
        pthread_mutex_unlock(&lock);
        if (failed) break;
        for (long i = 0; i < room && sent < count; i++, sent++) {
            int rc = mosquitto_publish_v5(m, NULL, topics[sent & 7], payload_len, payload, qos, false, NULL);
            if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "baseline: publish: %s\n", mosquitto_strerror(rc)); return 1; }
        }
    }
    pthread_mutex_lock(&lock);
    while (acked < count && !failed) pthread_cond_wait(&changed, &lock);
    long done = acked;
    pthread_mutex_unlock(&lock);
    double t1 = now(), cpu1 = cpu();

    mosquitto_disconnect_v5(m, 0, NULL);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    printf("msgs=%ld seconds=%.4f cpu=%.3f refused=%ld payload_bytes=%d qos=%d tls=%d loop=thread\n", done, t1 - t0, cpu1 - cpu0, refused,
           payload_len, qos, cafile != NULL);
    return done == count ? 0 : 1;
}
