/* A tiny client for the connection log tests (tests/cli/test_conn.py builds it with cc): it
 * connects to ADDRESS PORT over TCP (or UDP with "udp", a connected socket), sends one byte and
 * exits at once, so each run is a short-lived process with a command name of its own. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s ADDRESS PORT [udp]\n", argv[0]);
        return 2;
    }
    const int udp = argc > 3 && strcmp(argv[3], "udp") == 0;
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in* a4 = (struct sockaddr_in*)&ss;
    struct sockaddr_in6* a6 = (struct sockaddr_in6*)&ss;
    if (inet_pton(AF_INET, argv[1], &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)atoi(argv[2]));
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, argv[1], &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)atoi(argv[2]));
        len = sizeof *a6;
    } else {
        fprintf(stderr, "%s: not an address\n", argv[1]);
        return 2;
    }
    const int fd = socket(ss.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr*)&ss, len) != 0) {
        perror("connect");
        return 1;
    }
    if (write(fd, "x", 1) != 1) {
        perror("write");
        return 1;
    }
    close(fd);
    return 0;
}
