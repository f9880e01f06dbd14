// SPDX-License-Identifier: Apache-2.0
// peers_blast: replays the UDP payloads of a capture over loopback with
// sendmmsg, one socket per exporter (10.a.b.c:port is sent from 127.a.b.c:port,
// so the collectors see as many exporters as the capture has), in capture
// order per exporter (templates first, as exported), paced to a packet rate.
//
// usage: peers_blast FILE.pcap --to PORT[=NEWPORT]... [--pps N] [--loops N]
//   --to 2055 --to 9995=2055: send what went to 2055 and 9995 to 127.0.0.1:2055;
//   datagrams to a port not listed are skipped. Prints what was sent as JSON.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {
constexpr unsigned k_batch = 32;  // datagrams per sendmmsg: one syscall per burst, as collectors read them

struct exporter {
    int fd = -1;
    std::vector<std::vector<uint8_t>> dgrams;
    std::vector<uint16_t> dport;
};

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) { std::fprintf(stderr, "usage: peers_blast FILE.pcap --to PORT[=NEW]... [--pps N] [--loops N]\n"); return 2; }
    std::map<uint16_t, uint16_t> to;
    double pps = 0;
    uint64_t loops = 1;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--to" && i + 1 < argc) {
            const std::string v = argv[++i];
            const auto eq = v.find('=');
            const int from = std::atoi(v.substr(0, eq).c_str());
            to[uint16_t(from)] = uint16_t(eq == std::string::npos ? from : std::atoi(v.substr(eq + 1).c_str()));
        } else if (a == "--pps" && i + 1 < argc) pps = std::atof(argv[++i]);
        else if (a == "--loops" && i + 1 < argc) loops = std::strtoull(argv[++i], nullptr, 10);
        else { std::fprintf(stderr, "peers_blast: bad argument %s\n", a.c_str()); return 2; }
    }
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(argv[1], eb);
    if (p == nullptr) { std::fprintf(stderr, "peers_blast: %s\n", eb); return 1; }
    if (pcap_datalink(p) != DLT_EN10MB) { std::fprintf(stderr, "peers_blast: Ethernet captures only\n"); return 1; }
    std::map<uint64_t, exporter> ex;  // (src ip, src port)
    std::vector<uint64_t> order;      // capture order of (exporter key)
    pcap_pkthdr* h;
    const u_char* d;
    uint64_t skipped = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        if (h->caplen < 42 || d[12] != 0x08 || d[13] != 0x00) { ++skipped; continue; }
        const u_char* ip = d + 14;
        const unsigned ihl = (ip[0] & 15u) * 4;
        const unsigned frag = ((ip[6] << 8) | ip[7]) & 0x3fff;
        if (ip[9] != 17 || frag != 0 || h->caplen < 14 + ihl + 8) { ++skipped; continue; }
        const u_char* u = ip + ihl;
        const uint16_t sport = uint16_t((u[0] << 8) | u[1]), dport = uint16_t((u[2] << 8) | u[3]);
        const unsigned ulen = (u[4] << 8) | u[5];
        if (ulen < 8 || 14 + ihl + ulen > h->caplen || !to.count(dport)) { ++skipped; continue; }
        uint32_t src;
        std::memcpy(&src, ip + 12, 4);
        const uint64_t key = (uint64_t(ntohl(src)) << 16) | sport;
        exporter& e = ex[key];
        e.dgrams.emplace_back(u + 8, u + ulen);
        e.dport.push_back(to[dport]);
        order.push_back(key);
    }
    pcap_close(p);
    // Sockets: 10.a.b.c -> 127.a.b.c (all of 127/8 is loopback on Linux).
    for (auto& [key, e] : ex) {
        e.fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        const uint32_t src = uint32_t(key >> 16);
        sa.sin_addr.s_addr = htonl((127u << 24) | (src & 0x00ffffff));
        sa.sin_port = htons(uint16_t(key));
        int one = 1;
        setsockopt(e.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        int sndbuf = 4 << 20;
        setsockopt(e.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        if (bind(e.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) { std::perror("peers_blast: bind"); return 1; }
    }
    // Send in capture order, grouping runs of one exporter into a sendmmsg.
    std::vector<std::size_t> next_of(0);
    std::map<uint64_t, std::size_t> idx;
    uint64_t sent = 0, bytes = 0, errors = 0;
    const uint64_t t0 = now_ns();
    double deadline = double(t0);
    const double gap = pps > 0 ? 1e9 / pps : 0;
    mmsghdr msgs[k_batch];
    iovec iov[k_batch];
    sockaddr_in dst[k_batch];
    for (uint64_t l = 0; l < loops; ++l) {
        for (auto& [k, v] : idx) v = 0;
        std::size_t i = 0;
        while (i < order.size()) {
            const uint64_t key = order[i];
            exporter& e = ex[key];
            std::size_t& at = idx[key];
            unsigned n = 0;
            while (n < k_batch && i < order.size() && order[i] == key) {
                std::memset(&msgs[n], 0, sizeof msgs[n]);
                iov[n].iov_base = e.dgrams[at].data();
                iov[n].iov_len = e.dgrams[at].size();
                dst[n] = {};
                dst[n].sin_family = AF_INET;
                dst[n].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                dst[n].sin_port = htons(e.dport[at]);
                msgs[n].msg_hdr.msg_iov = &iov[n];
                msgs[n].msg_hdr.msg_iovlen = 1;
                msgs[n].msg_hdr.msg_name = &dst[n];
                msgs[n].msg_hdr.msg_namelen = sizeof dst[n];
                bytes += iov[n].iov_len;
                ++n; ++at; ++i;
            }
            if (gap > 0) {
                deadline += gap * n;
                const uint64_t now = now_ns();
                if (double(now) < deadline) {
                    const uint64_t w = uint64_t(deadline) - now;
                    timespec ts{time_t(w / 1000000000), long(w % 1000000000)};
                    nanosleep(&ts, nullptr);
                }
            }
            unsigned done = 0;
            while (done < n) {
                const int r = sendmmsg(e.fd, msgs + done, n - done, 0);
                if (r < 0) { ++errors; break; }
                done += unsigned(r);
            }
            sent += done;
        }
    }
    const double secs = double(now_ns() - t0) / 1e9;
    std::printf("{\"datagrams_sent\":%llu,\"payload_bytes\":%llu,\"send_errors\":%llu,\"exporters\":%zu,"
                "\"datagrams_per_loop\":%zu,\"skipped_frames\":%llu,\"seconds\":%.6f}\n",
                (unsigned long long)sent, (unsigned long long)bytes, (unsigned long long)errors, ex.size(), order.size(),
                (unsigned long long)skipped, secs);
    for (auto& [k, e] : ex) close(e.fd);
    return 0;
}
