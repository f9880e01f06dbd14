// SPDX-License-Identifier: Apache-2.0
// The publisher: start-up build, reload triggers (file change, SIGHUP request, period), a failing rebuild that
// keeps the version, retirement only after every reader's quiescent state (a real rte_rcu_qsbr, no EAL
// needed: it is plain memory), and the forced sampling rates sent on the override path.
#include <gtest/gtest.h>
#include <rte_rcu_qsbr.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "enrich/runtime/publisher.hpp"

using namespace sluice::enrich;
using clk = publisher::clock;

namespace {

struct tmpdir {
    std::string path;
    tmpdir() {
        char t[] = "/tmp/sluice-enrich-rt-XXXXXX";
        path = mkdtemp(t);
    }
    ~tmpdir() { std::system(("rm -rf " + path).c_str()); }
    std::string write(const std::string& name, const std::string& text) const {
        const std::string p = path + "/" + name;
        std::ofstream(p) << text;
        return p;
    }
};

struct qsbr_mem {
    rte_rcu_qsbr* v;
    explicit qsbr_mem(unsigned threads) {
        v = static_cast<rte_rcu_qsbr*>(aligned_alloc(64, (rte_rcu_qsbr_get_memsize(threads) + 63) / 64 * 64));
        rte_rcu_qsbr_init(v, threads);
    }
    ~qsbr_mem() { free(v); }
};

// Ticks (with the given clock offset) until `done` or 20 s.
template <typename F>
bool tick_until(publisher& p, F done, clk::duration offset = {}) {
    const auto end = clk::now() + std::chrono::seconds(20);
    while (clk::now() < end) {
        p.tick(clk::now() + offset);
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

// The set id the current version gives `addr`.
uint32_t name_at(const interner&, const publisher& p, const char* addr) {
    u128 a;
    EXPECT_TRUE(parse_address(addr, a));
    uint8_t b[16];
    from_u128(a, b);
    return p.version()->address_attr(b);
}

std::string name_of(const interner& in, uint32_t id) {
    const attr_set* s = in.get(id);
    return s && s->get(key::name) ? *s->get(key::name) : "";
}

}  // namespace

TEST(EnrichRuntime, StartupFailureNamesFileAndLine) {
    tmpdir d;
    build_config cfg;
    cfg.inventories.push_back({d.write("i.csv", "prefix,name\n10.0.0.0/8,a\nbogus,b\n"), {}});
    interner in;
    publisher p(cfg, in, nullptr, 0, nullptr);
    try {
        p.build_initial();
        FAIL() << "no throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(d.path + "/i.csv:3: bad prefix \"bogus\""), std::string::npos) << e.what();
    }
    EXPECT_EQ(p.counters().get(runtime_counter::builds_failed_invalid), 1u);
}

TEST(EnrichRuntime, ReloadsRetireAfterGracePeriodAndKeepOnFailure) {
    tmpdir d;
    const std::string inv = d.write("i.csv", "prefix,name\n10.0.0.0/8,one\n");
    build_config cfg;
    cfg.inventories.push_back({inv, {}});
    interner in;
    qsbr_mem q(1);
    rte_rcu_qsbr_thread_register(q.v, 0);
    rte_rcu_qsbr_thread_online(q.v, 0);
    std::vector<std::string> logs;
    publisher p(cfg, in, q.v, 0, [&](const std::string& m) { logs.push_back(m); });
    p.build_initial();
    const table_version* v1 = p.version();
    EXPECT_EQ(name_of(in, name_at(in, p, "10.1.2.3")), "one");
    const uint32_t id_one = name_at(in, p, "10.1.2.3");

    // A file change (mtime and size) triggers a rebuild within the 1 s check.
    d.write("i.csv", "prefix,name\n10.0.0.0/8,two-two\n");
    ASSERT_TRUE(tick_until(p, [&] { return p.version() != v1; }));
    EXPECT_EQ(name_of(in, name_at(in, p, "10.1.2.3")), "two-two");
    EXPECT_EQ(p.counters().get(runtime_counter::reloads_file_change), 1u);
    // The reader has not reported a quiescent state: v1 is not freed, and an id stamped under v1 still
    // resolves (the interner outlives versions).
    for (int i = 0; i < 10; ++i) p.tick(clk::now());
    EXPECT_EQ(p.counters().get(runtime_counter::versions_retired), 0u);
    EXPECT_EQ(name_of(in, id_one), "one");
    rte_rcu_qsbr_quiescent(q.v, 0);
    p.tick(clk::now());
    EXPECT_EQ(p.counters().get(runtime_counter::versions_retired), 1u);

    // A bad rebuild keeps the version, logs file and line, and is not retried until the file changes again.
    const table_version* v2 = p.version();
    d.write("i.csv", "prefix,name\n10.0.0.0/8,three\nnope,x\n");
    ASSERT_TRUE(tick_until(p, [&] { return p.counters().get(runtime_counter::builds_failed_invalid) == 1; }));
    EXPECT_EQ(p.version(), v2);
    ASSERT_FALSE(logs.empty());
    EXPECT_NE(logs.back().find(inv + ":3: bad prefix \"nope\""), std::string::npos) << logs.back();
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    for (int i = 0; i < 5; ++i) p.tick(clk::now() + std::chrono::seconds(2));
    EXPECT_EQ(p.counters().get(runtime_counter::builds_started), 3u);

    // SIGHUP (request_reload) with a fixed file rebuilds; so does the period.
    d.write("i.csv", "prefix,name\n10.0.0.0/8,four\n");
    p.request_reload();
    ASSERT_TRUE(tick_until(p, [&] { return name_of(in, name_at(in, p, "10.1.2.3")) == "four"; }));
    EXPECT_EQ(p.counters().get(runtime_counter::reloads_sighup), 1u);
    rte_rcu_qsbr_quiescent(q.v, 0);
    p.tick(clk::now());
    EXPECT_EQ(p.counters().get(runtime_counter::versions_retired), 2u);
    EXPECT_EQ(p.counters().get(runtime_counter::builds_ok), 3u);
    EXPECT_EQ(p.counters().get(runtime_counter::versions_published), 3u);
    p.shutdown();
}

TEST(EnrichRuntime, PeriodAndForcedRates) {
    tmpdir d;
    const std::string exp = d.write("e.csv", "address,name,sampling_rate,force\n192.0.2.1,a,100,true\n192.0.2.2,b,7,\n");
    build_config cfg;
    cfg.exporters_file = exp;
    interner in;
    publisher p(cfg, in, nullptr, 5.0, nullptr);
    std::vector<std::pair<std::string, uint32_t>> sent;  // (prefix, rate), rate -1 = cleared
    p.set_override_sink([&](const uint8_t a[16], unsigned len, uint32_t rate, bool clear) {
        u128 k = to_u128(a);
        sent.emplace_back(prefix_text(k, uint8_t(len)), clear ? uint32_t(-1) : rate);
        return true;
    });
    p.build_initial();
    p.send_overrides();
    // Only the forced entry goes to the override path.
    EXPECT_EQ(sent, (std::vector<std::pair<std::string, uint32_t>>{{"192.0.2.1/32", 100}}));
    sent.clear();
    // The period (5 s) elapses: a rebuild; the forced rate moved to another exporter: the old one is removed.
    d.write("e.csv", "address,name,sampling_rate,force\n192.0.2.3,c,200,true\n");
    const table_version* v1 = p.version();
    ASSERT_TRUE(tick_until(p, [&] { return p.version() != v1; }, std::chrono::seconds(6)));
    EXPECT_GE(p.counters().get(runtime_counter::reloads_period) + p.counters().get(runtime_counter::reloads_file_change), 1u);
    EXPECT_EQ(sent, (std::vector<std::pair<std::string, uint32_t>>{{"192.0.2.1/32", uint32_t(-1)}, {"192.0.2.3/32", 200}}));
    EXPECT_EQ(p.counters().get(runtime_counter::overrides_sent), 3u);
}

// force on subnets: every forced entry is sent with its length; an entry without force inside a forced one is
// sent as an exemption (rate 0: the more specific entry wins); a rebuild clears what is gone and resends only
// what changed; a full mailbox is counted and retried.
TEST(EnrichRuntime, ForcedSubnetsExemptionsAndRetry) {
    tmpdir d;
    const std::string exp = d.write("e.csv",
                                    "prefix,name,sampling_rate,force\n"
                                    "10.0.0.0/8,ten,100,true\n"
                                    "10.1.0.0/16,ten-one,,\n"          // inside the /8, not forced: exempt
                                    "10.1.2.0/24,ten-one-two,50,true\n" // inside the exemption, forced again
                                    "192.0.2.0/24,doc,7,false\n"        // not inside a forced entry: not sent
                                    "2001:db8::/32,v6,9,true\n");
    build_config cfg;
    cfg.exporters_file = exp;
    interner in;
    publisher p(cfg, in, nullptr, 0, nullptr);
    std::vector<std::pair<std::string, uint32_t>> sent;
    bool full = false;
    p.set_override_sink([&](const uint8_t a[16], unsigned len, uint32_t rate, bool clear) {
        if (full) return false;
        sent.emplace_back(prefix_text(to_u128(a), uint8_t(len)), clear ? uint32_t(-1) : rate);
        return true;
    });
    p.build_initial();
    const table_version* v = p.version();
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->stats.exporters, 5u);
    p.send_overrides();
    using sent_t = std::vector<std::pair<std::string, uint32_t>>;
    EXPECT_EQ(sent, (sent_t{{"10.0.0.0/8", 100}, {"10.1.0.0/16", 0}, {"10.1.2.0/24", 50}, {"2001:db8::/32", 9}}));
    sent.clear();
    // Nothing changed: nothing sent.
    p.send_overrides();
    EXPECT_TRUE(sent.empty());
    // A rebuild: the /8's rate changes, the /16 row goes (no exemption any more), the v6 entry loses force.
    d.write("e.csv",
            "prefix,name,sampling_rate,force\n"
            "10.0.0.0/8,ten,200,true\n"
            "10.1.2.0/24,ten-one-two,50,true\n"
            "2001:db8::/32,v6,9,false\n");
    p.request_reload();
    ASSERT_TRUE(tick_until(p, [&] { return p.version() != v; }));
    EXPECT_EQ(sent, (sent_t{{"10.1.0.0/16", uint32_t(-1)}, {"2001:db8::/32", uint32_t(-1)}, {"10.0.0.0/8", 200}}));
    EXPECT_EQ(p.counters().get(runtime_counter::overrides_sent), 7u);
    sent.clear();
    // A full mailbox: counted, kept pending, sent by a later tick.
    d.write("e.csv", "prefix,name,sampling_rate,force\n10.0.0.0/8,ten,300,true\n10.1.2.0/24,ten-one-two,50,true\n");
    full = true;
    const table_version* v2 = p.version();
    p.request_reload();
    ASSERT_TRUE(tick_until(p, [&] { return p.version() != v2; }));
    EXPECT_TRUE(sent.empty());
    EXPECT_EQ(p.counters().get(runtime_counter::overrides_failed), 1u);
    full = false;
    p.tick(clk::now() + std::chrono::seconds(2));
    EXPECT_EQ(sent, (sent_t{{"10.0.0.0/8", 300}}));
    EXPECT_EQ(p.counters().get(runtime_counter::overrides_sent), 8u);
    p.shutdown();
}
