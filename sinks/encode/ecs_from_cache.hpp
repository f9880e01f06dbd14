// SPDX-License-Identifier: Apache-2.0
// The ECS encoder's enrichment input (ecs_json.hpp, ecs_enrichment) from a sink core's member cache renderings
// (enrich/tables/resolve.hpp, ecs_parts): the same string views, field by field. One place for the stage, the
// tests and the benchmarks.
#pragma once

#include "enrich/tables/resolve.hpp"
#include "sinks/encode/ecs_json.hpp"

namespace sluice::sinks::encode {

inline ecs_enrichment ecs_enrichment_of(const enrich::ecs_parts& x) noexcept {
    ecs_enrichment e;
    e.src = {x.src.geo, x.src.as_org, x.src.net, x.src.prefix, x.src.asn};
    e.dst = {x.dst.geo, x.dst.as_org, x.dst.net, x.dst.prefix, x.dst.asn};
    e.observer = x.observer;
    e.exporter = x.exporter;
    e.in_if = x.in_if;
    e.out_if = x.out_if;
    e.in_if_sluice = x.in_if_sluice;
    e.out_if_sluice = x.out_if_sluice;
    return e;
}

}  // namespace sluice::sinks::encode
