// SPDX-License-Identifier: Apache-2.0
// Template state file tests: save/load round trip (data decodes at once after
// a restart), and corrupt, truncated or mismatched files rejected cleanly.
#include <gtest/gtest.h>
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "set_builder.hpp"
#include "dataplane/decode/template/template_state_file.hpp"
#include "dataplane/decode/template/template_store.hpp"

namespace sluice::decode {
namespace {

using builder = test::set_builder;

constexpr uint32_t export_secs = 1700000000;
constexpr uint64_t now_ns = uint64_t(export_secs) * 1000000000ull;

builder v9_header(uint16_t count, uint32_t seq) {
    builder b;
    b.u16(9).u16(count).u32(100000).u32(export_secs).u32(seq).u32(7);
    return b;
}
builder ipfix_header(uint32_t seq, uint32_t domain) {
    builder b;
    b.u16(10).u16(0).u32(export_secs).u32(seq).u32(domain);
    return b;
}

struct state_file : ::testing::Test {
    std::string dir;
    std::string path;
    std::vector<flow_record> storage = std::vector<flow_record>(16);
    record_buffer out{storage.data(), 16, 0};
    datagram_meta meta{};

    void SetUp() override {
        char tmpl[] = "/tmp/sluice_state_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/templates.state";
        meta.exporter_addr[10] = meta.exporter_addr[11] = 0xff;
        meta.exporter_addr[12] = 198;
        meta.exporter_addr[13] = 51;
        meta.exporter_addr[14] = 100;
        meta.exporter_addr[15] = 1;
        meta.time_received_ns = now_ns;
    }
    void TearDown() override {
        std::remove(path.c_str());
        for (const auto& f : rejected_files()) std::remove(f.c_str());
        ::rmdir(dir.c_str());
    }
    // Files kept aside by a failed load.
    std::vector<std::string> rejected_files() const {
        std::vector<std::string> out;
        if (DIR* d = ::opendir(dir.c_str())) {
            while (const dirent* e = ::readdir(d))
                if (std::string(e->d_name).find(".rejected.") != std::string::npos) out.push_back(dir + "/" + e->d_name);
            ::closedir(d);
        }
        return out;
    }

    decode_status feed(exporter_table& t, builder& b, protocol p) {
        if (p == protocol::ipfix) b.close(0);
        out.clear();
        return decode_datagram(b.b, meta, p, t, out);
    }

    // v9: options (domain rate 100) + template 256; IPFIX domain 3: sampler
    // options + template 300 with a selector id; a second exporter too.
    void populate(exporter_table& t) {
        builder v = v9_header(3, 1);  // options template + options record + template
        auto s = v.open(1);
        v.u16(257).u16(4).u16(4).u16(1).u16(4).u16(34).u16(4).u16(0);
        v.close(s);
        s = v.open(257);
        v.u32(0).u32(100);
        v.close(s);
        s = v.open(0);
        v.u16(256).u16(3).u16(8).u16(4).u16(12).u16(4).u16(2).u16(4);
        v.close(s);
        ASSERT_EQ(feed(t, v, protocol::netflow_v9), decode_status::ok);

        builder x = ipfix_header(0, 3);
        s = x.open(3);
        x.u16(400).u16(2).u16(1).u16(302).u16(4).u16(50).u16(4).u16(0);
        x.close(s);
        s = x.open(400);
        x.u32(5).u32(4096);
        x.close(s);
        s = x.open(2);
        x.u16(300).u16(4).u16(8).u16(4).u16(302).u16(4).u16(82).u16(65535).u16(0x8001).u16(4).u32(29305);
        x.close(s);
        ASSERT_EQ(feed(t, x, protocol::ipfix), decode_status::ok);

        datagram_meta other = meta;
        other.exporter_addr[15] = 2;
        builder y = ipfix_header(0, 1);
        s = y.open(2);
        y.u16(256).u16(1).u16(8).u16(4);
        y.close(s);
        y.close(0);
        out.clear();
        ASSERT_EQ(decode_datagram(y.b, other, protocol::ipfix, t, out), decode_status::ok);
    }

    void check_decodes(exporter_table& t) {
        builder v = v9_header(1, 2);
        auto s = v.open(256);
        v.u32(0x0a000001).u32(0x0a000002).u32(9);
        v.close(s);
        ASSERT_EQ(feed(t, v, protocol::netflow_v9), decode_status::ok);
        ASSERT_EQ(out.size, 1u);
        EXPECT_EQ(storage[0].packets, 9u);
        EXPECT_EQ(storage[0].src_addr[15], 1);
        EXPECT_EQ(storage[0].sampling_rate, 100u);

        builder x = ipfix_header(1, 3);
        s = x.open(300);
        x.u32(0x0a000003).u32(5).u8(2).u8('x').u8('y').u32(77);
        x.close(s);
        ASSERT_EQ(feed(t, x, protocol::ipfix), decode_status::ok);
        ASSERT_EQ(out.size, 1u);
        EXPECT_EQ(storage[0].src_addr[15], 3);
        EXPECT_EQ(storage[0].sampling_rate, 4096u);
        EXPECT_EQ(storage[0].observation_domain_id, 3u);
    }

    std::vector<uint8_t> read_file() {
        std::ifstream f(path, std::ios::binary);
        return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    }
    void write_file(const std::vector<uint8_t>& bytes) {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
};

TEST_F(state_file, round_trip_decodes_without_templates) {
    exporter_table a;
    populate(a);
    check_decodes(a);
    std::string err;
    ASSERT_TRUE(save_template_state(a, path, &err)) << err;
    EXPECT_TRUE(err.empty());
    EXPECT_NE(::access((path + ".tmp." + std::to_string(::getpid())).c_str(), F_OK), 0);  // temp file renamed

    exporter_table b;
    ASSERT_TRUE(load_template_state(b, path, &err)) << err;
    EXPECT_EQ(b.size(), 2u);
    const exporter_state* e = b.find(meta.exporter_addr);
    ASSERT_NE(e, nullptr);
    // v9: 256 + options 257; IPFIX domain 3: 300 + options 400.
    EXPECT_EQ(e->counters.get(counter::templates_restored), 4u);
    EXPECT_EQ(e->counters.errors(), 0u);
    check_decodes(b);
    e = b.find(meta.exporter_addr);
    EXPECT_EQ(e->counters.get(counter::err_data_before_template), 0u);
    EXPECT_EQ(e->counters.get(counter::flow_records), 2u);
    EXPECT_EQ(e->counters.get(counter::templates_learned), 0u);

    // Saving the restored table gives the same bytes (nothing lost).
    const std::vector<uint8_t> first = read_file();
    exporter_table c;
    ASSERT_TRUE(load_template_state(c, path, &err)) << err;
    ASSERT_TRUE(save_template_state(c, path, &err)) << err;
    EXPECT_EQ(read_file(), first);
}

TEST_F(state_file, several_workers_save_the_freshest_copy_of_each_exporter) {
    // At start the state is restored into every worker; the exporter then
    // redefines template 256 on the worker RSS steers it to (worker 1). The
    // saved file must carry worker 1's definition, not idle worker 0's.
    exporter_table first_run;
    populate(first_run);
    std::string err;
    ASSERT_TRUE(save_template_state(first_run, path, &err)) << err;
    exporter_table worker0, worker1;
    ASSERT_TRUE(load_template_state(worker0, path, &err)) << err;
    ASSERT_TRUE(load_template_state(worker1, path, &err)) << err;

    meta.time_received_ns = now_ns + 60ull * 1000000000ull;
    builder v = v9_header(1, 2);
    auto s = v.open(0);
    v.u16(256).u16(2).u16(8).u16(4).u16(1).u16(4);  // now: src addr + octets
    v.close(s);
    ASSERT_EQ(feed(worker1, v, protocol::netflow_v9), decode_status::ok);
    EXPECT_EQ(worker1.find(meta.exporter_addr)->counters.get(counter::templates_redefined), 1u);

    const exporter_table* tables[] = {&worker0, &worker1};
    ASSERT_TRUE(save_template_state(tables, path, &err)) << err;

    exporter_table restarted;
    ASSERT_TRUE(load_template_state(restarted, path, &err)) << err;
    EXPECT_EQ(restarted.size(), 2u);  // both exporters, each once
    builder d = v9_header(1, 3);
    s = d.open(256);
    d.u32(0x0a000009).u32(1234);
    d.close(s);
    ASSERT_EQ(feed(restarted, d, protocol::netflow_v9), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(storage[0].src_addr[15], 9);
    EXPECT_EQ(storage[0].bytes, 1234u);  // decoded with worker 1's redefinition
}

TEST_F(state_file, missing_file_is_a_first_start) {
    exporter_table t;
    std::string err;
    EXPECT_TRUE(load_template_state(t, dir + "/nope", &err));
    EXPECT_TRUE(err.empty());
    EXPECT_EQ(t.size(), 0u);
}

TEST_F(state_file, save_failure_names_the_path) {
    exporter_table t;
    populate(t);
    std::string err;
    EXPECT_FALSE(save_template_state(t, dir + "/no/such/dir/state", &err));
    EXPECT_NE(err.find(dir + "/no/such/dir/state"), std::string::npos) << err;
}

TEST_F(state_file, corrupt_files_rejected_with_clear_errors) {
    exporter_table a;
    populate(a);
    const std::vector<uint8_t> good = serialize_template_state(a);
    struct corrupt {
        const char* name;
        std::vector<uint8_t> bytes;
        const char* expect;
    };
    std::vector<corrupt> cases;
    {
        auto b = good;
        b[0] = 'X';
        cases.push_back({"magic", b, "bad magic"});
    }
    {
        auto b = good;
        b[8] = 3;
        cases.push_back({"version", b, "unsupported format version 3"});
    }
    {
        auto b = good;
        b[b.size() / 2] ^= 0x40;
        cases.push_back({"bit flip", b, "checksum mismatch"});
    }
    {
        auto b = good;
        b.resize(b.size() - 5);
        cases.push_back({"truncated", b, "truncated"});
    }
    {
        auto b = good;
        b.push_back(0);
        cases.push_back({"appended", b, "length mismatch"});
    }
    cases.push_back({"empty", {}, "truncated header"});
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        write_file(c.bytes);
        exporter_table t;
        std::string err;
        EXPECT_FALSE(load_template_state(t, path, &err));
        EXPECT_NE(err.find(c.expect), std::string::npos) << err;
        EXPECT_NE(err.find(path), std::string::npos) << err;
        EXPECT_EQ(t.size(), 0u);  // nothing applied
    }
    // Every truncation, in memory.
    for (std::size_t n = 0; n < good.size(); ++n) {
        exporter_table t;
        std::string err;
        EXPECT_FALSE(restore_template_state(t, std::span(good.data(), n), &err));
        EXPECT_EQ(t.size(), 0u);
    }
}

// Patches the CRC so structural validation (not the checksum) is exercised.
void fix_crc(std::vector<uint8_t>& b) {
    uint32_t c = 0xffffffffu;
    for (std::size_t i = 24; i < b.size(); ++i) {
        c ^= b[i];
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    c ^= 0xffffffffu;
    for (int i = 0; i < 4; ++i) b[12 + i] = static_cast<uint8_t>(c >> (8 * i));
}

TEST_F(state_file, structurally_corrupt_bodies_never_crash) {
    exporter_table a;
    populate(a);
    const std::vector<uint8_t> good = serialize_template_state(a);
    {
        auto b = good;
        b[24] = 0xff;  // exporter count far beyond the body
        b[25] = 0xff;
        fix_crc(b);
        exporter_table t;
        std::string err;
        EXPECT_FALSE(restore_template_state(t, b, &err));
        EXPECT_NE(err.find("exporter count"), std::string::npos) << err;
        EXPECT_EQ(t.size(), 0u);
    }
    std::mt19937 rng(12345);
    int accepted = 0;
    for (int i = 0; i < 3000; ++i) {
        auto b = good;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) b[24 + rng() % (b.size() - 24)] ^= static_cast<uint8_t>(1u << (rng() % 8));
        fix_crc(b);
        exporter_table t;
        std::string err;
        if (restore_template_state(t, b, &err)) {
            ++accepted;  // a flip in a value (an address, a rate) is still a valid file
            // Whatever was restored must decode safely.
            for (const uint8_t d : {0, 1}) {
                builder x = d ? ipfix_header(0, 3) : v9_header(1, 1);
                auto s = x.open(d ? 300 : 256);
                x.u32(1).u32(2).u32(3).u8(1).u8(0);
                x.close(s);
                if (d) x.close(0);
                out.clear();
                decode_datagram(x.b, meta, d ? protocol::ipfix : protocol::netflow_v9, t, out);
            }
        } else {
            EXPECT_FALSE(err.empty());
            EXPECT_EQ(t.size(), 0u);
        }
    }
    EXPECT_GT(accepted, 0);
}

TEST_F(state_file, restored_templates_still_expire_and_respect_limits) {
    exporter_table a;
    populate(a);
    const std::vector<uint8_t> bytes = serialize_template_state(a);

    decoder_limits small;
    small.template_timeout_ns = 10ull * 1000000000ull;
    exporter_table b(small);
    std::string err;
    ASSERT_TRUE(restore_template_state(b, bytes, &err)) << err;
    meta.time_received_ns = now_ns + 11ull * 1000000000ull;
    builder v = v9_header(1, 2);
    auto s = v.open(256);
    v.u32(1).u32(2).u32(3);
    v.close(s);
    EXPECT_EQ(feed(b, v, protocol::netflow_v9), decode_status::dropped);
    const exporter_state* e = b.find(meta.exporter_addr);
    EXPECT_EQ(e->counters.get(counter::templates_expired), 2u);  // 256 and options 257 (same source id)
    EXPECT_EQ(e->counters.get(counter::err_data_before_template), 1u);

    decoder_limits tight;
    tight.max_fields_per_template = 2;  // template 256 (3 fields) and 300 (4) no longer fit
    exporter_table c(tight);
    ASSERT_TRUE(restore_template_state(c, bytes, &err)) << err;
    e = c.find(meta.exporter_addr);
    EXPECT_EQ(e->counters.get(counter::templates_restored), 2u);  // the two options templates
    EXPECT_EQ(e->counters.get(counter::err_template_too_many_fields), 2u);
}

// sluiced's restore: the file is parsed once and shared; each exporter's
// state is applied on the worker its first datagram reaches, before that
// datagram decodes, and counted once.
TEST_F(state_file, lazy_restore_lands_only_on_the_worker_the_exporter_reaches) {
    exporter_table first_run;
    populate(first_run);
    const auto bytes = serialize_template_state(first_run);
    std::string err;
    auto saved = parse_saved_template_state(bytes, decoder_limits{}, &err);
    ASSERT_NE(saved, nullptr) << err;
    EXPECT_EQ(saved_exporter_count(*saved), 2u);
    exporter_table worker0, worker1;
    worker0.set_saved_state(saved);
    worker1.set_saved_state(saved);
    EXPECT_EQ(worker0.size(), 0u);  // nothing loaded up front
    check_decodes(worker1);         // first datagrams decode with the saved templates
    EXPECT_EQ(worker0.size(), 0u);
    EXPECT_EQ(worker1.size(), 1u);
    const exporter_state* e = worker1.find(meta.exporter_addr);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->counters.get(counter::templates_restored), 4u);
    EXPECT_EQ(e->counters.get(counter::err_data_before_template), 0u);
    EXPECT_EQ(e->counters.get(counter::flow_records), 2u);
    EXPECT_EQ(worker1.table_counters().get(table_counter::exporters_restored_lazily), 1u);
    // A save now keeps the exporter that has not sent yet, as it was saved.
    const exporter_table* tables[] = {&worker0, &worker1};
    exporter_table restarted;
    ASSERT_TRUE(restore_template_state(restarted, serialize_template_state(tables), &err)) << err;
    EXPECT_EQ(restarted.size(), 2u);
}

// The exporter restarted while the collector was down and now sends from a
// new source port: the restored session's templates still apply.
TEST_F(state_file, restored_templates_apply_to_a_new_source_port) {
    meta.exporter_port = 2055;
    exporter_table first_run;
    populate(first_run);
    std::string err;
    auto saved = parse_saved_template_state(serialize_template_state(first_run), decoder_limits{}, &err);
    ASSERT_NE(saved, nullptr) << err;
    exporter_table t;
    t.set_saved_state(saved);
    meta.exporter_port = 40000;
    check_decodes(t);
    const exporter_state* e = t.find(meta.exporter_addr);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->counters.get(counter::dev_session_inherited), 2u);
    EXPECT_EQ(e->counters.get(counter::err_data_before_template), 0u);
}

// Saving has the same bound as loading; when the state does not fit, each
// exporter keeps a fair share, so one hostile exporter cannot push the
// others out.
TEST_F(state_file, save_bound_gives_every_exporter_a_fair_share) {
    exporter_table t;
    populate(t);  // two modest exporters
    // A third exporter with 300 templates.
    datagram_meta hostile = meta;
    hostile.exporter_addr[15] = 66;
    for (uint16_t id = 256; id < 556; ++id) {
        builder x = ipfix_header(0, 1);
        auto s = x.open(2);
        x.u16(id).u16(4).u16(8).u16(4).u16(12).u16(4).u16(1).u16(8).u16(2).u16(8);
        x.close(s);
        x.close(0);
        out.clear();
        ASSERT_EQ(decode_datagram(x.b, hostile, protocol::ipfix, t, out), decode_status::ok);
    }
    const exporter_table* one[] = {&t};
    template_save_stats full;
    const auto all = serialize_template_state(one, template_state_max_bytes, &full);
    EXPECT_EQ(full.templates_left_out, 0u);
    template_save_stats st;
    const uint64_t bound = 3000;
    const auto capped = serialize_template_state(one, bound, &st);
    EXPECT_LE(capped.size(), bound);
    EXPECT_LT(capped.size(), all.size());
    EXPECT_EQ(st.exporters, 3u);
    EXPECT_EQ(st.exporters_capped, 1u);  // only the hostile one
    EXPECT_GT(st.templates_left_out, 0u);
    exporter_table back;
    std::string err;
    ASSERT_TRUE(restore_template_state(back, capped, &err)) << err;
    check_decodes(back);  // the modest exporters' state is whole
    const exporter_state* h = back.find(hostile.exporter_addr);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->counters.get(counter::templates_restored), 300u - st.templates_left_out);
}

// A file that cannot be loaded is kept aside, so the next save cannot
// overwrite it.
TEST_F(state_file, a_bad_file_is_kept_aside_never_overwritten) {
    exporter_table a;
    populate(a);
    auto bad = serialize_template_state(a);
    bad[bad.size() / 2] ^= 0x10;
    write_file(bad);
    std::string err;
    EXPECT_EQ(load_saved_template_state(path, decoder_limits{}, &err), nullptr);
    EXPECT_NE(err.find("checksum mismatch"), std::string::npos) << err;
    EXPECT_NE(err.find("kept aside"), std::string::npos) << err;
    EXPECT_NE(::access(path.c_str(), F_OK), 0);
    const auto aside = rejected_files();
    ASSERT_EQ(aside.size(), 1u);
    std::ifstream f(aside[0], std::ios::binary);
    EXPECT_EQ(std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()), bad);
    // The next save writes a fresh file beside it.
    ASSERT_TRUE(save_template_state(a, path, &err)) << err;
    EXPECT_EQ(rejected_files().size(), 1u);
    auto good = load_saved_template_state(path, decoder_limits{}, &err);
    ASSERT_NE(good, nullptr) << err;
    EXPECT_EQ(saved_exporter_count(*good), 2u);
}

// Rewrites a format-2 file as format 1 (no source port in the domains).
std::vector<uint8_t> as_format_1(const std::vector<uint8_t>& v2) {
    std::vector<uint8_t> out(v2.begin(), v2.begin() + 24);
    out[8] = 1, out[9] = out[10] = out[11] = 0;
    std::size_t p = 24;
    auto le = [&](std::size_t at, int n) {
        uint64_t v = 0;
        for (int i = 0; i < n; ++i) v |= uint64_t(v2[at + i]) << (8 * i);
        return v;
    };
    auto copy = [&](std::size_t n) {
        out.insert(out.end(), v2.begin() + long(p), v2.begin() + long(p + n));
        p += n;
    };
    const uint64_t n_exp = le(p, 4);
    copy(4);
    for (uint64_t e = 0; e < n_exp; ++e) {
        copy(32);
        const uint64_t n_dom = le(p, 4);
        copy(4);
        for (uint64_t d = 0; d < n_dom; ++d) {
            copy(1);
            p += 2;  // the port
            copy(4 + 4 + 1 + 8);
            const uint64_t n_s = le(p, 4);
            copy(4 + n_s * 12);
            const uint64_t n_t = le(p, 4);
            copy(4);
            for (uint64_t t = 0; t < n_t; ++t) {
                const uint64_t nf = le(p + 13, 2);
                copy(15 + nf * 8);
            }
        }
    }
    EXPECT_EQ(p, v2.size());
    const std::size_t body = out.size() - 24;
    for (int i = 0; i < 8; ++i) out[16 + i] = uint8_t(uint64_t(body) >> (8 * i));
    fix_crc(out);
    return out;
}

// Files written before sessions had ports still load: their sessions get
// port 0, which the exporter's real session inherits from.
TEST_F(state_file, format_1_files_still_load) {
    exporter_table a;
    populate(a);
    const auto v1 = as_format_1(serialize_template_state(a));
    exporter_table b;
    std::string err;
    ASSERT_TRUE(restore_template_state(b, v1, &err)) << err;
    EXPECT_EQ(b.size(), 2u);
    meta.exporter_port = 9999;
    check_decodes(b);
    EXPECT_EQ(b.find(meta.exporter_addr)->counters.get(counter::dev_session_inherited), 2u);
}

}  // namespace
}  // namespace sluice::decode
