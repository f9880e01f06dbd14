// SPDX-License-Identifier: Apache-2.0
// --output specs of Kafka outputs: keys, defaults, errors; the message key taken from a record.
#include <gtest/gtest.h>

#include <string>

#include "sinks/kafka/kafka.hpp"
#include "sinks/output/output.hpp"

using namespace sluice;
using namespace sluice::sinks;

namespace {

std::string error_of(const std::string& spec) {
    try {
        parse_output_spec(spec, 0);
    } catch (const spec_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(KafkaSpec, Defaults) {
    const output_config o = parse_output_spec("name=k,kafka=127.0.0.1:9092,topic=flows", 0);
    EXPECT_EQ(o.writer, writer_kind::kafka);
    EXPECT_EQ(o.kafka.brokers, "127.0.0.1:9092");
    EXPECT_EQ(o.kafka.topic, "flows");
    EXPECT_EQ(o.kafka.key, kafka_key::exporter);
    EXPECT_EQ(o.kafka.compression, kafka_compression::lz4);
    EXPECT_EQ(o.kafka.linger_ms, 5u);
    EXPECT_EQ(o.kafka.batch, 10000u);
    EXPECT_TRUE(o.kafka.props.empty());
    EXPECT_EQ(o.kafka.spool_root, "/var/lib/sluice/spool");
    EXPECT_EQ(o.kafka.spool.max_bytes, 1ull << 30);
    EXPECT_EQ(o.kafka.spool.fsync_ms, 1000u);
}

TEST(KafkaSpec, EveryKey) {
    const output_config o = parse_output_spec(
        "name=k,kafka=a:1;b:2,topic=t.x-1,key=dst,compression=zstd,linger_ms=0,batch=500,"
        "rdkafka.queue.buffering.max.messages=200000,rdkafka.acks=1,spool=/s,spool_bytes=65536,"
        "spool_segment_bytes=8192,spool_fsync_ms=0,filter=proto==tcp,sample=4",
        0);
    EXPECT_EQ(o.kafka.brokers, "a:1,b:2");  // ';' in the spec, ',' for librdkafka
    EXPECT_EQ(o.kafka.topic, "t.x-1");
    EXPECT_EQ(o.kafka.key, kafka_key::dst);
    EXPECT_EQ(o.kafka.compression, kafka_compression::zstd);
    EXPECT_EQ(o.kafka.linger_ms, 0u);
    EXPECT_EQ(o.kafka.batch, 500u);
    ASSERT_EQ(o.kafka.props.size(), 2u);
    EXPECT_EQ(o.kafka.props[0], (std::pair<std::string, std::string>{"queue.buffering.max.messages", "200000"}));
    EXPECT_EQ(o.kafka.props[1], (std::pair<std::string, std::string>{"acks", "1"}));
    EXPECT_EQ(o.kafka.spool_root, "/s");
    EXPECT_EQ(o.kafka.spool.max_bytes, 65536u);
    EXPECT_EQ(o.kafka.spool.segment_bytes, 8192u);
    EXPECT_EQ(o.kafka.spool.fsync_ms, 0u);
    EXPECT_EQ(o.sample, 4u);
}

TEST(KafkaSpec, Errors) {
    EXPECT_EQ(error_of("name=k,kafka=a:1"), "--output k: missing key 'topic' (kafka=BROKERS needs topic=T)");
    EXPECT_EQ(error_of("name=k,kafka=a:1,topic=t,path=/x"),
              "--output k: 'path' and 'kafka' exclude each other (one writer per output)");
    EXPECT_EQ(error_of("name=k,path=/x,topic=t"),
              "--output k: Kafka keys (topic, key, compression, ...) need kafka=BROKERS");
    EXPECT_EQ(error_of("name=k,path=/x,linger_ms=3"),
              "--output k: Kafka keys (topic, key, compression, ...) need kafka=BROKERS");
    EXPECT_EQ(error_of("name=k,kafka=a:1,topic=t,key=flow"),
              "--output k: key 'key': bad value 'flow' (exporter, src, dst, flow_id or none)");
    EXPECT_EQ(error_of("name=k,kafka=a:1,topic=t,compression=gzip"),
              "--output k: key 'compression': bad value 'gzip' (zstd, lz4 or none)");
    EXPECT_EQ(error_of("name=k,kafka=a:1,topic=t t"),
              "--output k: key 'topic': bad value 't t' (a Kafka topic name: letters, digits, '.', '_', '-')");
    EXPECT_EQ(error_of("name=k,kafka=a:1,topic=t,batch=0"),
              "--output k: key 'batch': bad value '0' (1..1000000 messages per batch)");
    EXPECT_EQ(error_of("name=k,kafka=a:1,topic=t,spool_bytes=10"),
              "--output k: key 'spool_bytes': bad value '10' (bytes, >= 4096)");
    EXPECT_EQ(error_of("name=k,kafka=,topic=t"),
              "--output k: key 'kafka': bad value '' (bootstrap brokers HOST:PORT[;HOST:PORT...] (';' between "
              "brokers))");
}

TEST(KafkaSpec, TwoKafkaOutputsShareNoPathCheck) {
    std::vector<output_config> outs{parse_output_spec("name=a,kafka=h:1,topic=t", 0),
                                    parse_output_spec("name=b,kafka=h:1,topic=t", 1)};
    EXPECT_NO_THROW(check_outputs(outs));
}

TEST(KafkaKey, AddressesAsText) {
    decode::flow_record r{};
    const uint8_t e[4] = {192, 0, 2, 1}, s[4] = {10, 0, 0, 1};
    decode::set_ipv4(r.sampler_address, e);
    decode::set_ipv4(r.src_addr, s);
    r.dst_addr[0] = 0x20;
    r.dst_addr[1] = 0x01;
    r.dst_addr[2] = 0x0d;
    r.dst_addr[3] = 0xb8;
    r.dst_addr[15] = 1;
    char k[46];
    EXPECT_EQ(std::string(k, kafka_writer::key_of(r, kafka_key::exporter, k)), "192.0.2.1");
    EXPECT_EQ(std::string(k, kafka_writer::key_of(r, kafka_key::src, k)), "10.0.0.1");
    EXPECT_EQ(std::string(k, kafka_writer::key_of(r, kafka_key::dst, k)), "2001:db8::1");
    EXPECT_EQ(kafka_writer::key_of(r, kafka_key::none, k), 0u);
}
