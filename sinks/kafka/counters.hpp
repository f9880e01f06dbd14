// SPDX-License-Identifier: Apache-2.0
// Kafka writer counters: one enum plus a constexpr {name, help, kind} table, one block per (sink lcore, output).
//
// Exported as `sluice_sinks_kafka_<name>_total{output="NAME"}`; relaxed stores by the owning sink lcore (delivery
// reports are served by rd_kafka_poll on that lcore, never on a librdkafka thread).
// Every record the output encodes is, at any instant, exactly one of: in librdkafka's queue, delivered, in the
// spool, or dropped (rejected here, or dropped_* / io_errors in the spool's table). After a clean stop, with an
// empty spool: produced + replayed = delivered + failed_timeout + failed_broker + failed_purged + rejected_dr.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks {

enum class kafka_counter : uint8_t {
    produced, replayed, delivered, delivered_bytes, failed_queue_full, failed_timeout, failed_broker, failed_purged,
    failed_produce, diverted, spooled, rejected, rejected_dr, brokers_down, fatal_errors, count_
};
constexpr std::size_t kafka_counter_count = static_cast<std::size_t>(kafka_counter::count_);

inline constexpr std::array<counters::info, kafka_counter_count> kafka_counter_table{{
    {"produced", "Records handed to librdkafka (rd_kafka_produce accepted them).", counters::kind::volume},
    {"replayed", "Spool entries read back and handed to librdkafka again.", counters::kind::volume},
    {"delivered", "Messages the brokers acknowledged (delivery report without error; acks=all by default).",
     counters::kind::volume},
    {"delivered_bytes", "Payload bytes of the delivered messages.", counters::kind::volume},
    {"failed_queue_full", "rd_kafka_produce refused a record because librdkafka's queue was full (spooled).",
     counters::kind::deviation},
    {"failed_timeout", "Deliveries that failed with message timeout (message.timeout.ms; spooled).",
     counters::kind::deviation},
    {"failed_broker", "Deliveries that failed with a broker or transport error (spooled).", counters::kind::deviation},
    {"failed_purged", "Messages purged from librdkafka's queue (every broker down, or at stop; spooled).",
     counters::kind::deviation},
    {"failed_produce", "rd_kafka_produce refused a record for another reason (unknown topic or partition; spooled).",
     counters::kind::deviation},
    {"diverted", "Records written straight to the spool, because every broker was down or older records were "
                 "still spooled (kept in order behind them).",
     counters::kind::deviation},
    {"spooled", "Records written to the spool (failed, diverted or purged ones); replayed when the brokers return.",
     counters::kind::volume},
    {"rejected", "Records librdkafka refused for good at produce (larger than message.max.bytes): lost.",
     counters::kind::drop},
    {"rejected_dr", "Deliveries that failed for good (message too large, authorization): not spooled, lost.",
     counters::kind::drop},
    {"brokers_down", "Times librdkafka reported every broker down (the writer then spools until a probe is "
                     "delivered).",
     counters::kind::deviation},
    {"fatal_errors", "Fatal producer errors (idempotence broken); see the log. Records keep going to the spool.",
     counters::kind::error},
}};
static_assert(counters::table_complete(kafka_counter_table));
static_assert(kafka_counter_table.back().name == "fatal_errors");

using kafka_counter_block = counters::block<kafka_counter, kafka_counter_count>;

}  // namespace sluice::sinks
