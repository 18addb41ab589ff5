/*
 * Bare libmosquitto QoS 1 publish loop: the baseline for the ring's drain rate (bench/ring.sh).
 *
 *   mosquitto_baseline HOST PORT COUNT MAX_INFLIGHT TOPIC_PREFIX PAYLOAD
 *
 * MQTT 5 and TCP_NODELAY like fieldlink's client. The network loop runs on libmosquitto's own thread
 * (mosquitto_loop_start); the main thread publishes COUNT messages of PAYLOAD's size at QoS 1,
 * keeping at most MAX_INFLIGHT unacknowledged (the same window fieldlink's publisher keeps, also
 * set in libmosquitto with mosquitto_max_inflight_messages_set), and counts PUBACKs in the publish
 * callback. The clock starts at CONNACK and stops at the last PUBACK. Prints one line:
 *
 *   msgs= seconds= cpu= refused= payload_bytes=
 */
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

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT COUNT MAX_INFLIGHT TOPIC_PREFIX PAYLOAD\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    long count = atol(argv[3]);
    int inflight = atoi(argv[4]);
    const char *prefix = argv[5];
    const char *payload = argv[6];
    int payload_len = (int)strlen(payload);
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
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_publish_v5_callback_set(m, on_publish);
    mosquitto_disconnect_v5_callback_set(m, on_disconnect);

    if (mosquitto_connect_bind_v5(m, host, port, 30, NULL, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "baseline: cannot connect to %s:%d\n", host, port);
        return 1;
    }
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
            int rc = mosquitto_publish_v5(m, NULL, topics[sent & 7], payload_len, payload, 1, false, NULL);
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
    printf("msgs=%ld seconds=%.4f cpu=%.3f refused=%ld payload_bytes=%d\n", done, t1 - t0, cpu1 - cpu0, refused, payload_len);
    return done == count ? 0 : 1;
}
