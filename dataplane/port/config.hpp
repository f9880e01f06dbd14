// SPDX-License-Identifier: Apache-2.0
// Port parameters and their defaults.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::port {

struct config {
    std::string devargs;      // as given: a PCI address, or a vdev "net_xxx0,key=value"
    uint16_t queues = 1;      // rx queues wanted; 1 when the device cannot do RSS
    // Descriptors per rx queue. 1024 absorbs a ~30 us stall of the worker at
    // 30 Mpps; more only adds latency and mbufs.
    uint16_t rx_desc = 1024;
    // Descriptors per tx queue: only exception replies (ARP, ping) are sent.
    uint16_t tx_desc = 256;
};

}  // namespace sluice::port
