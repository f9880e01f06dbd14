// SPDX-License-Identifier: Apache-2.0
// peers_recvmmsg: the kernel's UDP receive path and nothing else: recvmmsg in
// bursts on the given ports, counting datagrams and bytes. It bounds what any
// socket collector can do on one core. Stops on SIGTERM/SIGINT, or after
// --idle S seconds without a datagram once one arrived, and prints JSON.
//
// usage: peers_recvmmsg PORT... [--idle S]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
constexpr unsigned k_batch = 64;     // datagrams per recvmmsg
constexpr unsigned k_buf = 65536;    // a UDP datagram's maximum
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
    std::vector<int> ports;
    int idle_ms = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--idle" && i + 1 < argc) idle_ms = int(std::atof(argv[++i]) * 1000);
        else ports.push_back(std::atoi(argv[i]));
    }
    if (ports.empty()) { std::fprintf(stderr, "usage: peers_recvmmsg PORT... [--idle S]\n"); return 2; }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    std::vector<pollfd> fds;
    for (int p : ports) {
        const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int rcv = 32 << 20;  // as large as the collectors ask for
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
        sa.sin_port = htons(uint16_t(p));
        if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) { std::perror("peers_recvmmsg: bind"); return 1; }
        fds.push_back({fd, POLLIN, 0});
    }
    std::vector<uint8_t> buf(size_t(k_batch) * k_buf);
    mmsghdr m[k_batch];
    iovec iov[k_batch];
    uint64_t datagrams = 0, bytes = 0, calls = 0;
    std::fprintf(stderr, "peers_recvmmsg: ready\n");
    while (!g_stop) {
        const int r = poll(fds.data(), fds.size(), idle_ms > 0 && datagrams > 0 ? idle_ms : 200);
        if (r == 0 && idle_ms > 0 && datagrams > 0) break;
        if (r <= 0) continue;
        for (auto& f : fds) {
            if (!(f.revents & POLLIN)) continue;
            for (;;) {
                for (unsigned k = 0; k < k_batch; ++k) {
                    iov[k] = {buf.data() + size_t(k) * k_buf, k_buf};
                    std::memset(&m[k], 0, sizeof m[k]);
                    m[k].msg_hdr.msg_iov = &iov[k];
                    m[k].msg_hdr.msg_iovlen = 1;
                }
                const int n = recvmmsg(f.fd, m, k_batch, MSG_DONTWAIT, nullptr);
                ++calls;
                if (n <= 0) break;
                datagrams += unsigned(n);
                for (int k = 0; k < n; ++k) bytes += m[k].msg_len;
            }
        }
    }
    std::printf("{\"datagrams\":%llu,\"bytes\":%llu,\"recvmmsg_calls\":%llu}\n", (unsigned long long)datagrams,
                (unsigned long long)bytes, (unsigned long long)calls);
    return 0;
}
