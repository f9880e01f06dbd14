// SPDX-License-Identifier: Apache-2.0
// Test tool: answers ARP / ping / ND on a Linux interface through an AF_PACKET socket using exception::handle().
//
// It stands in for the DPDK worker so the exception path can be checked
// against real Linux neighbours (netns_ping_test.sh) without hugepages or a
// NIC. Not a product: no batching, one frame at a time, bounded run time.
//
// Usage: exception_responder --iface IF --address A [--address B ...] [--seconds N]
// Prints one "outcome count" line per non-zero counter on exit (SIGTERM/SIGINT or timeout).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "dataplane/exception/exception.hpp"

namespace ex = sluice::exception;

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }
}  // namespace

int main(int argc, char** argv) {
    ex::address_config cfg;
    std::string iface;
    int seconds = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--iface") {
            iface = v;
        } else if (a == "--seconds") {
            seconds = std::stoi(v);
        } else if (a == "--address") {
            if (!cfg.add(v)) {
                std::fprintf(stderr, "bad address %s\n", v.c_str());
                return 2;
            }
        } else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (iface.empty() || iface.size() >= IFNAMSIZ) {
        std::fprintf(stderr, "usage: %s --iface IF --address A [--address B ...] [--seconds N]\n", argv[0]);
        return 2;
    }

    const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) {
        std::perror("socket(AF_PACKET)");
        return 1;
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, iface.c_str(), iface.size());
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        std::perror("SIOCGIFINDEX");
        return 1;
    }
    const int ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        std::perror("SIOCGIFHWADDR");
        return 1;
    }
    uint8_t mac[6];
    std::memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    cfg.set_mac(mac);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
        std::perror("bind");
        return 1;
    }
    // The kernel strips VLAN tags into metadata (as NICs with RX VLAN strip
    // do); ask for it and put the tag back, as the worker must.
    const int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) {
        std::perror("PACKET_AUXDATA");
        return 1;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::printf("responding on %s (ifindex %d, mac %02x:%02x:%02x:%02x:%02x:%02x)\n", iface.c_str(), ifindex, mac[0],
                mac[1], mac[2], mac[3], mac[4], mac[5]);
    std::fflush(stdout);

    ex::counter_block counters;
    uint64_t tx_errors = 0;
    constexpr uint32_t k_buf = 9216;  // jumbo frame plus room for a re-inserted tag
    alignas(64) static uint8_t frame[k_buf + 4], reply[k_buf + 16];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!g_stop.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;
        sockaddr_ll from{};
        iovec iov{frame + 4, k_buf};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
        uint8_t* f = frame + 4;
        uint32_t len = static_cast<uint32_t>(n);
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
            tpacket_auxdata aux;
            std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
            if ((aux.tp_status & TP_STATUS_VLAN_VALID) == 0) continue;
            const uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
            std::memmove(frame, f, 12);
            f = frame;
            f[12] = static_cast<uint8_t>(tpid >> 8);
            f[13] = static_cast<uint8_t>(tpid);
            f[14] = static_cast<uint8_t>(aux.tp_vlan_tci >> 8);
            f[15] = static_cast<uint8_t>(aux.tp_vlan_tci);
            len += 4;
        }
        const ex::result r = ex::handle(f, len, cfg, reply, sizeof reply);
        counters.add(r.what);
        if (r.what != ex::outcome::reply) continue;
        if (send(fd, reply, r.reply_len, 0) != static_cast<ssize_t>(r.reply_len)) ++tx_errors;
    }
    for (std::size_t i = 0; i < ex::outcome_count; ++i)
        if (counters.v[i] != 0)
            std::printf("%s %llu\n", std::string(ex::counter_table[i].name).c_str(),
                        static_cast<unsigned long long>(counters.v[i]));
    std::printf("tx_errors %llu\n", static_cast<unsigned long long>(tx_errors));
    close(fd);
    return 0;
}
