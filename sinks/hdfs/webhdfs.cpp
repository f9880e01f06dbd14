// SPDX-License-Identifier: Apache-2.0
// The WebHDFS uploader (libcurl): spool recovery, the MKDIRS/CREATE/PUT/RENAME sequence, retries; see webhdfs.hpp.
#include "webhdfs.hpp"

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "hdfs.hpp"

namespace sluice::sinks::hdfs {

namespace fs = std::filesystem;

namespace {

uint64_t mono_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// A WebHDFS reply body we keep: RemoteException JSON and the small
// boolean/FileStatus objects are well under 64 KiB.
constexpr std::size_t k_max_body = 64 * 1024;
// Connect timeout: a namenode that does not answer SYN in 5 s is down.
constexpr long k_connect_timeout_ms = 5000;
// A transfer slower than 1 B/s for 30 s is dead (a stuck datanode).
constexpr long k_low_speed_time_s = 30;
// First retry backoff; doubles up to retry_max_ms.
constexpr uint64_t k_backoff_first_ms = 100;

struct reply {
    CURLcode rc = CURLE_OK;
    long status = 0;
    std::string body;
    std::string location;
};

size_t on_body(char* p, size_t sz, size_t n, void* arg) {
    auto* s = static_cast<std::string*>(arg);
    const size_t len = sz * n;
    if (s->size() < k_max_body) s->append(p, std::min(len, k_max_body - s->size()));
    return len;
}

reply request(CURL* h, const std::string& url, const char* method, FILE* body = nullptr, uint64_t len = 0) {
    reply r;
    curl_easy_reset(h);  // keeps the connection cache
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // the datanode redirect is followed by hand
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, k_connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, k_low_speed_time_s);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    curl_slist* hdr = curl_slist_append(nullptr, "Expect:");
    if (body) {
        hdr = curl_slist_append(hdr, "Content-Type: application/octet-stream");
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READDATA, body);  // default read function: fread
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(len));
    } else if (std::string_view(method) != "GET") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    r.rc = curl_easy_perform(h);
    curl_slist_free_all(hdr);
    if (r.rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
        char* loc = nullptr;
        if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) r.location = loc;
    }
    return r;
}

// {"boolean": true} / {"boolean":false}
bool json_true(const std::string& b) {
    const auto k = b.find("\"boolean\"");
    if (k == std::string::npos) return false;
    const auto v = b.find_first_not_of(" \t\r\n:", k + 9);
    return v != std::string::npos && b.compare(v, 4, "true") == 0;
}

// "length": N in a FileStatus; -1 when absent.
int64_t json_length(const std::string& b) {
    const auto k = b.find("\"length\"");
    if (k == std::string::npos) return -1;
    const auto v = b.find_first_not_of(" \t\r\n:", k + 8);
    if (v == std::string::npos) return -1;
    return std::strtoll(b.c_str() + v, nullptr, 10);
}

// The RemoteException's message, for the log line.
std::string remote_message(const std::string& b) {
    const auto k = b.find("\"message\"");
    if (k == std::string::npos) return b.substr(0, 200);
    const auto q = b.find('"', b.find(':', k) + 1);
    if (q == std::string::npos) return b.substr(0, 200);
    const auto e = b.find('"', q + 1);
    return b.substr(q + 1, e == std::string::npos ? 200 : std::min<std::size_t>(e - q - 1, 200));
}

uint64_t seq_of(const std::string& name) {  // part-HOST-CORE-SEQ.avro
    const auto dot = name.rfind(".avro"), dash = name.rfind('-');
    if (dot == std::string::npos || dash == std::string::npos || dash > dot) return 0;
    return std::strtoull(name.c_str() + dash + 1, nullptr, 10);
}

}  // namespace

uploader::uploader(const hdfs_config& c, std::string output, unsigned core, std::string spool_dir,
                   upload_counter_block* counters)
    : _cfg(c), _output(std::move(output)), _core(core), _spool(std::move(spool_dir)), _c(counters) {
    static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);  // once per process, at set-up
    if (global != CURLE_OK) throw std::runtime_error("--output " + _output + ": curl_global_init failed");
    _curl = curl_easy_init();
    if (!_curl) throw std::runtime_error("--output " + _output + ": curl_easy_init failed");
}

uploader::~uploader() {
    finish();
    if (_curl) curl_easy_cleanup(static_cast<CURL*>(_curl));
}

void uploader::start() {
    std::vector<std::pair<uint64_t, item>> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(_spool, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (it->is_directory() && it->path().filename() == "conflict") {
            it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file()) continue;
        const std::string name = it->path().filename().string();
        if (name.starts_with(".part-") && name.ends_with(".tmp")) {
            fs::remove(it->path(), ec);
            _c->add(upload_counter::discarded_partial_files);
            continue;
        }
        if (!name.starts_with("part-") || !name.ends_with(".avro")) continue;
        const uint64_t bytes = it->file_size();
        found.push_back({seq_of(name), {fs::relative(it->path(), _spool).string(), bytes}});
    }
    if (ec) throw std::runtime_error("--output " + _output + ": spool " + _spool + ": " + ec.message());
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second.rel < b.second.rel;
    });
    for (auto& [seq, it] : found) {
        _queue.push_back(it);
        _used += it.bytes;
        _c->add(upload_counter::recovered_files);
        _c->add(upload_counter::spooled_bytes, it.bytes);
    }
    _thread = std::thread([this] { main(); });
    pthread_setname_np(_thread.native_handle(), ("hdfs-up" + std::to_string(_core)).substr(0, 15).c_str());
}

void uploader::add(const std::string& rel, uint64_t bytes) {
    {
        std::lock_guard<std::mutex> g(_mu);
        _queue.push_back({rel, bytes});
        _used += bytes;
    }
    _added.fetch_add(bytes, std::memory_order_relaxed);  // counted into spooled_bytes by the uploader thread
    _cv.notify_one();
}

void uploader::finish() noexcept {
    if (_joined) return;
    {
        std::lock_guard<std::mutex> g(_mu);
        _stopping = true;
        _deadline_ns = mono_ns() + uint64_t(_cfg.drain_seconds) * 1000000000ull;
    }
    _cv.notify_all();
    if (_thread.joinable()) _thread.join();
    _joined = true;
}

std::string uploader::url(const std::string& path, const std::string& op, const std::string& extra) const {
    std::string u = _cfg.base + "/webhdfs/v1" + path + "?op=" + op;
    if (!_cfg.token.empty()) u += "&delegation=" + _cfg.token;
    else if (!_cfg.user.empty()) u += "&user.name=" + _cfg.user;
    return u + extra;
}

bool uploader::wait_backoff(unsigned attempt) noexcept {
    const uint64_t ms = std::min<uint64_t>(k_backoff_first_ms << std::min(attempt, 20u), _cfg.retry_max_ms);
    std::unique_lock<std::mutex> g(_mu);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
        if (_stopping && mono_ns() >= _deadline_ns) return false;
        _cv.wait_until(g, std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
    }
    return !(_stopping && mono_ns() >= _deadline_ns);
}

uploader::step uploader::upload(const item& it) noexcept {
    CURL* h = static_cast<CURL*>(_curl);
    const std::size_t slash = it.rel.rfind('/');
    const std::string part = slash == std::string::npos ? std::string() : it.rel.substr(0, slash);
    const std::string name = it.rel.substr(slash == std::string::npos ? 0 : slash + 1);
    const std::string dir = (_cfg.root == "/" ? std::string() : _cfg.root) + "/" + _cfg.table + "/" + part;
    const std::string tmp = dir + "/." + name + ".tmp", dst = dir + "/" + name;
    auto failed = [&](const char* what, const reply& r, upload_counter why) {
        _c->add(why);
        std::fprintf(stderr, "sluiced: output %s: sink %u: webhdfs %s %s: %s\n", _output.c_str(), _core, what,
                     name.c_str(),
                     r.rc != CURLE_OK ? curl_easy_strerror(r.rc)
                                      : ("HTTP " + std::to_string(r.status) + " " + remote_message(r.body)).c_str());
        return step::retry;
    };
    auto http_fail = [&](const char* what, const reply& r, upload_counter other) {
        if (r.rc != CURLE_OK) return failed(what, r, upload_counter::fail_connect);
        if (r.status >= 400 && r.status < 500) return failed(what, r, upload_counter::fail_http_4xx);
        if (r.status >= 500) return failed(what, r, upload_counter::fail_http_5xx);
        return failed(what, r, other);
    };
    if (!_made.contains(dir)) {
        const reply r = request(h, url(dir, "MKDIRS", "&permission=755"), "PUT");
        if (r.rc != CURLE_OK || r.status != 200 || !json_true(r.body)) return http_fail("MKDIRS", r, upload_counter::fail_http_5xx);
        _made.insert(dir);
    }
    const reply nn = request(h, url(tmp, "CREATE", "&overwrite=true"), "PUT");
    if (nn.rc != CURLE_OK || nn.status != 307 || nn.location.empty())
        return http_fail("CREATE", nn, upload_counter::fail_redirect);
    FILE* f = std::fopen((_spool + "/" + it.rel).c_str(), "rb");
    if (!f) {  // the spool file vanished (removed by hand): nothing to deliver
        std::fprintf(stderr, "sluiced: output %s: sink %u: spool file %s is gone\n", _output.c_str(), _core,
                     it.rel.c_str());
        return step::gone;
    }
    const reply dn = request(h, nn.location, "PUT", f, it.bytes);
    std::fclose(f);
    if (dn.rc == CURLE_COULDNT_CONNECT) return failed("datanode", dn, upload_counter::fail_redirect);
    if (dn.rc != CURLE_OK) return failed("datanode", dn, upload_counter::fail_datanode);
    if (dn.status != 201) return http_fail("datanode", dn, upload_counter::fail_datanode);
    char* esc = curl_easy_escape(h, dst.c_str(), int(dst.size()));
    const std::string dest = esc ? esc : dst;
    curl_free(esc);
    const reply rn = request(h, url(tmp, "RENAME", "&destination=" + dest), "PUT");
    if (rn.rc != CURLE_OK || rn.status != 200) return http_fail("RENAME", rn, upload_counter::fail_http_5xx);
    if (json_true(rn.body)) return step::ok;
    // false: the destination exists, or the source is gone.
    const reply st = request(h, url(dst, "GETFILESTATUS"), "GET");
    if (st.rc == CURLE_OK && st.status == 200) {
        if (json_length(st.body) == int64_t(it.bytes)) return step::ok;  // an earlier attempt's rename
        request(h, url(tmp, "DELETE"), "DELETE");  // best effort: leave no temporary file behind
        return step::conflict;
    }
    if (st.rc == CURLE_OK && st.status == 404) return failed("RENAME", rn, upload_counter::fail_rename);
    return http_fail("GETFILESTATUS", st, upload_counter::fail_http_5xx);
}

void uploader::sync_spooled() noexcept {
    const uint64_t a = _added.load(std::memory_order_relaxed);
    if (a != _added_seen) _c->add(upload_counter::spooled_bytes, a - _added_seen);
    _added_seen = a;
}

void uploader::main() noexcept {
    bool failing = false;
    struct at_exit {
        uploader* u;
        ~at_exit() { u->sync_spooled(); }
    } sync{this};
    for (;;) {
        sync_spooled();
        item it;
        {
            std::unique_lock<std::mutex> g(_mu);
            _cv.wait(g, [&] { return !_queue.empty() || _stopping; });
            if (_queue.empty() || (_stopping && mono_ns() >= _deadline_ns)) break;
            it = _queue.front();
        }
        step s;
        for (unsigned attempt = 0;; ++attempt) {
            try {
                s = upload(it);
            } catch (...) {  // std::string allocation
                s = step::retry;
            }
            if (s != step::retry) break;
            failing = true;
            _c->add(upload_counter::retries);
            if (!wait_backoff(attempt)) return;  // the drain is over: the file stays in the spool
        }
        std::error_code ec;
        const fs::path local = fs::path(_spool) / it.rel;
        if (s == step::gone) {
            // Nothing to deliver and nothing left to count as uploaded.
        } else if (s == step::ok) {
            fs::remove(local, ec);
            _c->add(upload_counter::uploaded_files);
            _c->add(upload_counter::uploaded_bytes, it.bytes);
            if (failing)
                std::fprintf(stderr, "sluiced: output %s: sink %u: webhdfs delivering again (%s)\n", _output.c_str(),
                             _core, it.rel.c_str());
            failing = false;
        } else {
            const fs::path aside = fs::path(_spool) / "conflict" / it.rel;
            fs::create_directories(aside.parent_path(), ec);
            fs::rename(local, aside, ec);
            _c->add(upload_counter::rename_conflicts);
            std::fprintf(stderr, "sluiced: output %s: sink %u: webhdfs RENAME conflict: %s kept as %s\n",
                         _output.c_str(), _core, it.rel.c_str(), aside.c_str());
        }
        _c->add(upload_counter::unspooled_bytes, it.bytes);
        _used -= it.bytes;
        std::lock_guard<std::mutex> g(_mu);
        _queue.pop_front();
    }
}

}  // namespace sluice::sinks::hdfs
