/* Load for the connection-log benchmark (bench/conn.sh): a TCP server, and a client that opens
 * and closes connections at a steady rate, each carrying a given number of bytes.
 *
 *   conn_load server ADDRESS PORT WORKERS
 *       WORKERS processes accept on ADDRESS:PORT (SO_REUSEPORT) and read each connection to its
 *       end; runs until killed.
 *   conn_load client ADDRESS PORT RATE SECONDS BYTES THREADS PORTS_FILE
 *       RATE connections per second for SECONDS, from THREADS threads (each paced to
 *       RATE/THREADS); each connects, writes BYTES in 1448-byte writes with TCP_NODELAY (about
 *       one segment each), closes. Writes the source port of every connection to PORTS_FILE
 *       and prints "made N failed F in S s".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kChunk = 1448 };

static struct sockaddr_in target(const char* addr, const char* port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
        fprintf(stderr, "conn_load: %s is not an IPv4 address\n", addr);
        exit(2);
    }
    return a;
}

static void serve(int lfd) {
    char buf[65536];
    for (;;) {
        const int c = accept(lfd, NULL, NULL);
        if (c < 0) continue;
        while (read(c, buf, sizeof buf) > 0) {
        }
        close(c);
    }
}

static int server(const char* addr, const char* port, int workers) {
    struct sockaddr_in a = target(addr, port);
    const int one = 1;
    for (int i = 0; i < workers; ++i) {
        if (fork() != 0) continue;
        const int lfd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(lfd, (struct sockaddr*)&a, sizeof a) != 0 || listen(lfd, 4096) != 0) {
            perror("conn_load server");
            _exit(1);
        }
        serve(lfd);
    }
    while (wait(NULL) > 0) {
    }
    return 0;
}

struct worker {
    struct sockaddr_in to;
    double rate;  // connections per second, this thread
    double seconds;
    long bytes;
    unsigned short* ports;
    long made, failed, capacity;
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int one_connection(struct worker* w, unsigned short* port) {
    static const char data[kChunk];
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr*)&w->to, sizeof w->to) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    getsockname(fd, (struct sockaddr*)&me, &len);
    *port = ntohs(me.sin_port);
    for (long left = w->bytes; left > 0;) {
        const ssize_t n = write(fd, data, left < kChunk ? (size_t)left : kChunk);
        if (n <= 0) break;
        left -= n;
    }
    close(fd);
    return 0;
}

static void* client_thread(void* arg) {
    struct worker* w = arg;
    const double start = now(), step = 1.0 / w->rate;
    for (long i = 0;; ++i) {
        const double due = start + i * step;
        if (due - start >= w->seconds) break;
        const double wait = due - now();
        if (wait > 0) {
            struct timespec t = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
            nanosleep(&t, NULL);
        }
        unsigned short port = 0;
        if (one_connection(w, &port) == 0 && w->made < w->capacity)
            w->ports[w->made++] = port;
        else
            ++w->failed;
    }
    return NULL;
}

static int client(char** argv) {
    const double rate = atof(argv[4]), seconds = atof(argv[5]);
    const int threads = atoi(argv[7]);
    struct worker* w = calloc((size_t)threads, sizeof *w);
    pthread_t* t = calloc((size_t)threads, sizeof *t);
    const double t0 = now();
    for (int i = 0; i < threads; ++i) {
        w[i].to = target(argv[2], argv[3]);
        w[i].rate = rate / threads;
        w[i].seconds = seconds;
        w[i].bytes = atol(argv[6]);
        w[i].capacity = (long)(w[i].rate * seconds) + 16;
        w[i].ports = calloc((size_t)w[i].capacity, sizeof(unsigned short));
        pthread_create(&t[i], NULL, client_thread, &w[i]);
    }
    long made = 0, failed = 0;
    FILE* out = fopen(argv[8], "w");
    for (int i = 0; i < threads; ++i) {
        pthread_join(t[i], NULL);
        made += w[i].made;
        failed += w[i].failed;
        for (long j = 0; out && j < w[i].made; ++j) fprintf(out, "%u\n", w[i].ports[j]);
    }
    if (out) fclose(out);
    printf("made %ld failed %ld in %.3f s\n", made, failed, now() - t0);
    return 0;
}

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc == 5 && strcmp(argv[1], "server") == 0) return server(argv[2], argv[3], atoi(argv[4]));
    if (argc == 9 && strcmp(argv[1], "client") == 0) return client(argv);
    fprintf(stderr,
            "usage: conn_load server ADDRESS PORT WORKERS\n"
            "       conn_load client ADDRESS PORT RATE SECONDS BYTES THREADS PORTS_FILE\n");
    return 2;
}
