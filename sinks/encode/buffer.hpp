// SPDX-License-Identifier: Apache-2.0
// A growable byte buffer the caller owns and the encoders append to: room is reserved for the worst case of a
// record (or a batch) and the encoder commits what it wrote, so the hot path never allocates once the buffer has
// grown to its working size (growth doubles: a few allocations at start-up, none in steady state).
//
//   caller (sink lcore)                    encoder
//   ───────────────────                    ───────
//   byte_buffer buf;  (one per output)
//   buf.clear() per Kafka message / flush
//   append_*(buf, records) ───────────►    p = buf.reserve(n * max); ...; buf.commit(written)
//   buf.data(), buf.size()  ─► producer / writer
//
// Owned by one thread; not copyable (moves are fine).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace sluice::sinks::encode {

class byte_buffer {
public:
    byte_buffer() = default;
    explicit byte_buffer(std::size_t initial) { grow(initial); }
    byte_buffer(const byte_buffer&) = delete;
    byte_buffer& operator=(const byte_buffer&) = delete;
    byte_buffer(byte_buffer&&) noexcept = default;
    byte_buffer& operator=(byte_buffer&&) noexcept = default;

    // At least n writable bytes at the end; valid until the next reserve(). May allocate (only when growing).
    uint8_t* reserve(std::size_t n) {
        if (_cap - _size < n) [[unlikely]]
            grow(_size + n);
        return _data.get() + _size;
    }
    // The n bytes just written at reserve() belong to the buffer now.
    void commit(std::size_t n) noexcept { _size += n; }

    void clear() noexcept { _size = 0; }
    const uint8_t* data() const noexcept { return _data.get(); }
    uint8_t* data() noexcept { return _data.get(); }
    std::size_t size() const noexcept { return _size; }
    std::size_t capacity() const noexcept { return _cap; }

private:
    void grow(std::size_t need) {
        std::size_t cap = _cap ? _cap : 4096;
        while (cap < need) cap *= 2;
        auto d = std::make_unique_for_overwrite<uint8_t[]>(cap);
        if (_size) std::memcpy(d.get(), _data.get(), _size);
        _data = std::move(d);
        _cap = cap;
    }

    std::unique_ptr<uint8_t[]> _data;
    std::size_t _size = 0;
    std::size_t _cap = 0;
};

}  // namespace sluice::sinks::encode
