#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# Writes the small .mmdb fixtures of the enrichment tests (libmaxmind-db-writer-perl):
#   testdata/city-maxmind.mmdb   MaxMind's nested City layout (country.iso_code, city.names.en, subdivisions)
#   testdata/asn-maxmind.mmdb    MaxMind's ASN layout (autonomous_system_number / _organization)
#   testdata/city-iplocdb.mmdb   ip-location-db's flat layout (country_code, city, state1)
# All IPv6 databases with IPv4 networks in the ::/96 subtree (aliased at ::ffff:0:0/96 and 2002::/16).
# Run: perl tests/enrich/make_mmdb_fixtures.pl (from the repository root). The outputs are committed.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $dir = 'tests/enrich/testdata';

sub write_tree {
    my ($file, $type, $types, $nets) = @_;
    my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version => 6, record_size => 24, database_type => $type,
        languages => ['en'], description => { en => "sluice test fixture $type" },
        map_key_type_callback => sub { $types->{ $_[0] } },
        alias_ipv6_to_ipv4 => 1,
        remove_reserved_networks => 0,  # the fixtures use the documentation ranges (RFC 5737, 3849)
    );
    for my $n (@$nets) { $tree->insert_network($n->[0], $n->[1]); }
    open my $fh, '>:raw', "$dir/$file" or die "$file: $!";
    $tree->write_tree($fh);
    close $fh;
}

my %city_types = (country => 'map', iso_code => 'utf8_string', city => 'map', names => 'map', en => 'utf8_string',
                  subdivisions => ['array', 'map']);
write_tree('city-maxmind.mmdb', 'GeoLite2-City', \%city_types, [
    ['198.51.100.0/24', { country => { iso_code => 'FR' }, city => { names => { en => 'Paris' } },
                          subdivisions => [{ iso_code => 'IDF' }] }],
    ['198.51.100.128/25', { country => { iso_code => 'FR' }, city => { names => { en => 'Lyon' } } }],
    ['203.0.113.0/24', { country => { iso_code => 'JP' } }],
    ['2001:db8:1::/48', { country => { iso_code => 'DE' }, city => { names => { en => 'Berlin' } } }],
]);

my %asn_types = (autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string');
write_tree('asn-maxmind.mmdb', 'GeoLite2-ASN', \%asn_types, [
    ['198.51.100.0/23', { autonomous_system_number => 64500, autonomous_system_organization => 'Example "Transit"' }],
    ['2001:db8::/32', { autonomous_system_number => 64501, autonomous_system_organization => 'Example v6' }],
]);

my %flat_types = (country_code => 'utf8_string', city => 'utf8_string', state1 => 'utf8_string',
                  latitude => 'float', longitude => 'float');
write_tree('city-iplocdb.mmdb', 'geolite2-city', \%flat_types, [
    ['192.0.2.0/24', { country_code => 'NL', city => 'Amsterdam', state1 => 'North Holland', latitude => 52.37,
                       longitude => 4.89 }],
    ['2001:db8:2::/48', { country_code => 'GB', city => 'London', state1 => '' }],
]);
