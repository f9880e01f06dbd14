-- SPDX-License-Identifier: Apache-2.0
-- Hive DDL for the Avro files the HDFS writer writes (sinks/hdfs/README.md), one table per output's table=.
-- Columns are sinks/avro/flow.avsc's fields in order (Avro long = BIGINT, int = INT; ["null", T] = a nullable
-- column). Set LOCATION to <root>/<table> of the output (hdfs=URL's path, or the mounted directory's HDFS path).
-- Files are named part-<host>-<core>-<seq>.avro; the temporary .part-*.avro.tmp names start with '.', which
-- Hive's input format skips, so a query never reads half a file.
--
-- Instead of the column list, Hive can take the schema itself (upload flow.avsc outside the table's directory):
--   ... STORED AS AVRO LOCATION '...' TBLPROPERTIES ('avro.schema.url'='hdfs:///sluice/schemas/flow.avsc');
-- New partitions appear as the writer creates dt=/hour= directories: register them with
--   MSCK REPAIR TABLE flows;            (or ALTER TABLE flows ADD PARTITION (dt='2026-12-01', hour='13');)
CREATE EXTERNAL TABLE IF NOT EXISTS flows (
  `type` STRING,
  `kind` STRING,
  `time_received_ns` BIGINT,
  `sequence_num` BIGINT,
  `sampler_address` STRING,
  `observation_domain_id` BIGINT,
  `sampling_rate` BIGINT,
  `time_flow_start_ns` BIGINT,
  `time_flow_end_ns` BIGINT,
  `bytes` BIGINT,
  `packets` BIGINT,
  `src_addr` STRING,
  `dst_addr` STRING,
  `next_hop` STRING,
  `etype` INT,
  `proto` INT,
  `src_port` INT,
  `dst_port` INT,
  `in_if` BIGINT,
  `out_if` BIGINT,
  `src_as` BIGINT,
  `dst_as` BIGINT,
  `src_net` INT,
  `dst_net` INT,
  `ip_tos` INT,
  `tcp_flags` INT,
  `icmp_type` INT,
  `icmp_code` INT,
  `vlan_id` INT,
  `inner_vlan_id` INT,
  `src_vlan` INT,
  `dst_vlan` INT,
  `src_mac` STRING,
  `dst_mac` STRING,
  `mpls_label` BIGINT,
  `ip_ttl` INT,
  `ipv6_flow_label` BIGINT,
  `forwarding_status` INT,
  `flow_end_reason` INT,
  `bgp_next_hop` STRING,
  `next_hop_as` BIGINT,
  `post_nat_src_addr` STRING,
  `post_nat_dst_addr` STRING,
  `post_nat_src_port` INT,
  `post_nat_dst_port` INT,
  `in_if_format` INT,
  `out_if_format` INT,
  `flow_direction` INT,
  `biflow_reverse` BOOLEAN,
  `sampling_overridden` BOOLEAN,
  `export_version` INT,
  `if_speed_mbps` BIGINT,
  `if_out_bytes` BIGINT,
  `if_out_packets` BIGINT,
  `if_in_errors` BIGINT,
  `if_out_errors` BIGINT,
  `if_in_discards` BIGINT,
  `if_out_discards` BIGINT
)
PARTITIONED BY (dt STRING, `hour` STRING)
STORED AS AVRO
LOCATION 'hdfs:///sluice/flows';
