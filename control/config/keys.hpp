// SPDX-License-Identifier: Apache-2.0
// The configuration file's key table: one row per TOML key, naming the command-line flag it stands for.
//
// The loader (config.hpp) turns each key's TOML value into that flag's value
// and applies it through cli::apply_option, so a key and its flag can never
// disagree on what they accept. docs/config.md is checked against this table
// by the control_config test (a key missing from the docs, or a long option
// with no key, fails it). Adding a flag = adding its row here (and to the docs).
//
// Three keys are arrays of tables with code of their own in the loader:
// [[port]] (devargs), [[exporter]] (address, sampling_override, name, group)
// and [[output]] (every key passed through to the --output spec grammar of
// sinks/output/, so a new spec key needs no loader change).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::control::config {

enum class value_type : uint8_t {
    string,           // a TOML string
    integer,          // a TOML integer >= 0
    integer_or_auto,  // an integer, or "auto" (resolved by the loader; docs say to what)
    seconds,          // a TOML integer or float >= 0
    boolean,          // true applies the switch; false leaves its default
    string_list,      // an array of strings: one flag per element
    map,              // a table NAME = VALUE (integer or string): one "NAME=VALUE" flag per entry
    table_array,      // [[NAME]]: its rows are NAME.KEY
    any,              // a string, integer or boolean, passed through as text ([[output]] keys)
};

enum class change : uint8_t { restart, live };

struct key_info {
    std::string_view key;      // dotted path; "a.*" = any key under table a
    std::string_view flag;     // the equivalent long option without "--"; "" = none
    value_type type;
    std::string_view def;      // the default, as the docs show it
    change when;               // applied by a reload (SIGHUP), or only at the next start
    std::string_view doc;      // one line
};

std::span<const key_info> key_table();

// The row for a dotted path with array indices removed ("output.sample"
// matches "output.*"); nullptr when none.
const key_info* find_key(std::string_view path);

// The row whose flag is `flag` (without "--"); nullptr when none.
const key_info* find_flag(std::string_view flag);

// Long options that have no key on purpose (they name or check the file itself).
inline constexpr std::string_view k_flags_without_key[] = {"config", "check-config", "help"};

std::string_view type_name(value_type t);

}  // namespace sluice::control::config
