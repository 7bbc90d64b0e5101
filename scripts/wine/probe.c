/* What Wine itself does with plain Winsock calls, where it differs from Windows and matters
 * to this program's tests: an abortive close (SO_LINGER on, 0 s) should send RST, so the
 * peer's recv() fails with WSAECONNRESET (10054); a datagram to a closed port should make
 * the next recvfrom() fail with WSAECONNRESET. Run by scripts/windows-smoke.sh; loopback
 * only. And whether SIO_TCP_INFO answers. Seen under Wine 8.0: SIO_TCP_INFO refused, a
 * graceful close (recv = 0) and a timeout (10060). */
#include <winsock2.h>
#include <stdio.h>
int main(void) {
    WSADATA w; WSAStartup(MAKEWORD(2,2), &w);
    SOCKET l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(0x7f000001);
    bind(l, (struct sockaddr*)&a, sizeof a); listen(l, 1);
    int len = sizeof a; getsockname(l, (struct sockaddr*)&a, &len);
    SOCKET c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr*)&a, sizeof a);
    SOCKET s = accept(l, NULL, NULL);
    send(c, "hello", 5, 0); char buf[16]; recv(s, buf, 5, 0);
    /* SIO_TCP_INFO (Windows 10 1703+), version 0, on the live connection. */
    DWORD version = 0, got = 0; char info[256];
    int io = WSAIoctl(c, 0xD8000027u, &version, sizeof version, info, sizeof info, &got, NULL, NULL);
    printf("SIO_TCP_INFO rc=%d, error=%d, %lu bytes (state %d; 4 = ESTABLISHED)\n", io,
           io ? WSAGetLastError() : 0, (unsigned long)got, io ? -1 : *(int *)info);
    struct linger lg = {1, 0};
    int rc = setsockopt(s, SOL_SOCKET, SO_LINGER, (char*)&lg, sizeof lg);
    closesocket(s);
    Sleep(200);
    int n = recv(c, buf, sizeof buf, 0);
    printf("setsockopt rc=%d, client recv=%d, error=%d (10054 = WSAECONNRESET)\n", rc, n, n < 0 ? WSAGetLastError() : 0);
    /* UDP to a closed port */
    SOCKET u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b = {0}; b.sin_family = AF_INET; b.sin_addr.s_addr = htonl(0x7f000001); b.sin_port = htons(9);
    struct sockaddr_in me = {0}; me.sin_family = AF_INET; me.sin_addr.s_addr = htonl(0x7f000001);
    bind(u, (struct sockaddr*)&me, sizeof me);
    sendto(u, "x", 1, 0, (struct sockaddr*)&b, sizeof b);
    DWORD t = 500; setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, (char*)&t, sizeof t);
    n = recvfrom(u, buf, sizeof buf, 0, NULL, NULL);
    printf("udp recvfrom=%d, error=%d (10054 = WSAECONNRESET, 10060 = timeout)\n", n, n < 0 ? WSAGetLastError() : 0);
    return 0;
}
