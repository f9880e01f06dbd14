// SPDX-License-Identifier: Apache-2.0
// Resolves a record's interned attribute ids to JSON members with Akvorado's column names (docs/record.md).
//
// Runs on the sink core, after format_json: the ids were set by the worker under some table version; the
// strings are the interner's, which never frees a set while the process runs (attrs.hpp), so this needs no
// table version at all and no RCU read section. A field the record has no value for is absent.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "dataplane/decode/flow_record.hpp"
#include "enrich/attrs/attrs.hpp"

namespace sluice::enrich {

// Room the enriched members may take after the base JSON object; members that do not fit are left out
// (whole members, never cut). 2,500 bytes holds every built-in field of all five scopes at typical
// lengths; the sink's line limit is 4 KiB (sinks/file/file.hpp) and the base object at most 1,536.
constexpr std::size_t max_enriched_json = 2500;

class json_names {
public:
    // The member names of every key (built-in and custom) in each scope, from the registry as it is now:
    // make it after the first build (custom keys are all declared then).
    explicit json_names(const key_registry& keys);
    enum scope : uint8_t { src, dst, exporter, in_if, out_if, scope_count };
    const std::string& name(scope s, uint16_t k) const noexcept { return _names[s][k]; }
    bool numeric(uint16_t k) const noexcept { return k == uint16_t(key::asn) || k == uint16_t(key::speed); }
    std::size_t keys() const noexcept { return _names[0].size(); }

private:
    std::vector<std::string> _names[scope_count];  // "\"SrcNetName\":"
};

// `json` holds one object of `len` bytes ending in '}'; appends the record's enriched members before the
// brace. Returns the new length (len when the record has no ids). cap >= len + max_enriched_json.
std::size_t append_enriched(const interner& in, const json_names& names, const decode::flow_record& r, char* json,
                            std::size_t len) noexcept;

}  // namespace sluice::enrich
