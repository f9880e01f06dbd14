// SPDX-License-Identifier: Apache-2.0
// The hdfs writer's --output spec keys (pure string code, in the sanitizer-tested core library).
#include <charconv>

#include "config.hpp"

namespace sluice::sinks::hdfs {

namespace {
template <typename T>
bool number(std::string_view s, T& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}
bool name_ok(std::string_view s) {
    if (s.empty()) return false;
    for (char ch : s)
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '.'))
            return false;
    return s != "." && s != "..";
}
}  // namespace

key_result parse_key(hdfs_config& c, std::string_view k, std::string_view v, std::string& want) {
    if (k == "hdfs") {
        c.dest = std::string(v);
        const bool http = v.starts_with("http://"), https = v.starts_with("https://");
        c.webhdfs = http || https;
        if (c.webhdfs) {
            const std::size_t host_at = http ? 7 : 8;
            const std::size_t slash = v.find('/', host_at);
            c.base = std::string(v.substr(0, slash));
            c.root = slash == std::string_view::npos ? "/" : std::string(v.substr(slash));
            if (c.base.size() == host_at) return want = "http[s]://NAMENODE:PORT[/PATH]", key_result::bad;
        } else {
            if (v.empty()) return want = "a directory, or a WebHDFS URL http[s]://NAMENODE:PORT[/PATH]", key_result::bad;
            c.root = std::string(v);
        }
        while (c.root.size() > 1 && c.root.back() == '/') c.root.pop_back();
        return key_result::ok;
    }
    if (k == "table") {
        if (!name_ok(v)) return want = "a directory name: letters, digits, '_', '-', '.'", key_result::bad;
        c.table = std::string(v);
        return key_result::ok;
    }
    if (k == "roll_seconds") {
        if (!number(v, c.roll_seconds)) return want = "seconds, 0 = never by time", key_result::bad;
        return key_result::ok;
    }
    if (k == "codec") {
        if (v == "deflate") c.codec = avro::codec::deflate;
        else if (v == "snappy") c.codec = avro::codec::snappy;
        else if (v == "null") c.codec = avro::codec::null;
        else return want = "deflate, snappy or null", key_result::bad;
        return key_result::ok;
    }
    if (k == "spool") {
        if (v.empty()) return want = "a local directory", key_result::bad;
        c.spool = std::string(v);
        return key_result::ok;
    }
    if (k == "spool_bytes") {
        if (!number(v, c.spool_bytes) || c.spool_bytes == 0) return want = "bytes >= 1", key_result::bad;
        return key_result::ok;
    }
    if (k == "user") {
        if (!name_ok(v)) return want = "a user name", key_result::bad;
        c.user = std::string(v);
        return key_result::ok;
    }
    if (k == "token") {
        for (char ch : v)
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                  ch == '-'))
                return want = "a URL-safe delegation token", key_result::bad;
        if (v.empty()) return want = "a URL-safe delegation token", key_result::bad;
        c.token = std::string(v);
        return key_result::ok;
    }
    if (k == "drain_s") {
        if (!number(v, c.drain_seconds) || c.drain_seconds > 3600) return want = "0..3600 s", key_result::bad;
        return key_result::ok;
    }
    if (k == "retry_max_ms") {
        if (!number(v, c.retry_max_ms) || c.retry_max_ms < 100) return want = ">= 100 ms", key_result::bad;
        return key_result::ok;
    }
    if (k == "host") {
        if (!name_ok(v)) return want = "letters, digits, '_', '-', '.'", key_result::bad;
        c.host = std::string(v);
        return key_result::ok;
    }
    return key_result::unknown;
}

}  // namespace sluice::sinks::hdfs
