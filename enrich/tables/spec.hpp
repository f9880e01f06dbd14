// SPDX-License-Identifier: Apache-2.0
// The --enrich-* flag values into build_config entries (pure; the CLI calls these and names the flag).
//
//   --enrich-inventory FILE[,format=json|ndjson|csv][,columns=C1:C2:...]
//   --enrich-mmdb FILE[,layout=maxmind|ip-location-db][,KEY=path.in.record ...]   (KEY: country, city, ...)
//   --enrich-exporters FILE[,format=...]   --enrich-interfaces FILE[,format=...]
// Throws std::invalid_argument with the reason.
#pragma once

#include <string>

#include "tables.hpp"

namespace sluice::enrich {

inventory_spec parse_inventory_spec(const std::string& v);
mmdb_spec parse_mmdb_spec(const std::string& v);

}  // namespace sluice::enrich
