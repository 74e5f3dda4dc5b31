;; LZ4 block decoder (independent blocks only), the source of the WebAssembly module embedded in
;; lz4_decode_wasm.ts. Same checks and outcomes as decompressBlock() in lz4_block.ts; every read and
;; write is bounds-checked against the caller's regions, so malformed input returns an error code and
;; never touches memory outside [src, srcEnd) and [dst, dstEnd).
;;
;; decode(src, srcEnd, dst, dstEnd) -> new end of the output (>= dst), or a negative error:
;;   -1 literals run past the end of the block     -2 output exceeds dstEnd (block maximum)
;;   -3 match offset runs past the end of the block -4 zero match offset
;;   -5 match offset points before the start        -6 match length runs past the end of the block
;;   -7 empty block (or a block ending in a match)
;;
;; Rebuild: npx --yes wabt@1.0.39 ... see lz4_decode_wasm.ts.
(module
  (memory (export "mem") 130)
  (func (export "decode") (param $s i32) (param $send i32) (param $d0 i32) (param $dend i32) (result i32)
    (local $d i32) (local $token i32) (local $len i32) (local $b i32) (local $off i32) (local $k i32)
    (local $n i32)
    (local.set $d (local.get $d0))
    (block $empty
      (loop $seq
        (br_if $empty (i32.ge_u (local.get $s) (local.get $send)))
        (local.set $token (i32.load8_u (local.get $s)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        ;; literal length
        (local.set $len (i32.shr_u (local.get $token) (i32.const 4)))
        (if (i32.eq (local.get $len) (i32.const 15))
          (then
            (loop $more
              (if (i32.ge_u (local.get $s) (local.get $send)) (then (return (i32.const -1))))
              (local.set $b (i32.load8_u (local.get $s)))
              (local.set $s (i32.add (local.get $s) (i32.const 1)))
              (local.set $len (i32.add (local.get $len) (local.get $b)))
              (br_if $more (i32.eq (local.get $b) (i32.const 255))))))
        (if (i32.gt_u (local.get $len) (i32.sub (local.get $send) (local.get $s)))
          (then (return (i32.const -1))))
        (if (i32.gt_u (local.get $len) (i32.sub (local.get $dend) (local.get $d)))
          (then (return (i32.const -2))))
        ;; Short runs as two 8-byte words (memory.copy costs a call): the extra bytes land in scratch
        ;; memory, inside the module's memory, and later output overwrites them.
        (if (i32.le_u (local.get $len) (i32.const 16))
          (then
            (i64.store (local.get $d) (i64.load (local.get $s)))
            (i64.store offset=8 (local.get $d) (i64.load offset=8 (local.get $s))))
          (else (memory.copy (local.get $d) (local.get $s) (local.get $len))))
        (local.set $d (i32.add (local.get $d) (local.get $len)))
        (local.set $s (i32.add (local.get $s) (local.get $len)))
        ;; the last sequence has no match part
        (if (i32.eq (local.get $s) (local.get $send)) (then (return (local.get $d))))
        (if (i32.lt_u (i32.sub (local.get $send) (local.get $s)) (i32.const 2))
          (then (return (i32.const -3))))
        (local.set $off (i32.load16_u (local.get $s)))
        (local.set $s (i32.add (local.get $s) (i32.const 2)))
        (if (i32.eqz (local.get $off)) (then (return (i32.const -4))))
        (if (i32.gt_u (local.get $off) (i32.sub (local.get $d) (local.get $d0)))
          (then (return (i32.const -5))))
        ;; match length
        (local.set $len (i32.and (local.get $token) (i32.const 15)))
        (if (i32.eq (local.get $len) (i32.const 15))
          (then
            (loop $more
              (if (i32.ge_u (local.get $s) (local.get $send)) (then (return (i32.const -6))))
              (local.set $b (i32.load8_u (local.get $s)))
              (local.set $s (i32.add (local.get $s) (i32.const 1)))
              (local.set $len (i32.add (local.get $len) (local.get $b)))
              (br_if $more (i32.eq (local.get $b) (i32.const 255))))))
        (local.set $len (i32.add (local.get $len) (i32.const 4)))
        (if (i32.gt_u (local.get $len) (i32.sub (local.get $dend) (local.get $d)))
          (then (return (i32.const -2))))
        (if (i32.ge_u (local.get $off) (i32.const 8))
          (then
            ;; Each 8-byte read ends at least 8 bytes before the write that follows it has to start,
            ;; so word copies repeat an overlapping pattern exactly; runs may overshoot into scratch.
            (if (i32.le_u (local.get $len) (i32.const 16))
              (then
                (i64.store (local.get $d) (i64.load (i32.sub (local.get $d) (local.get $off))))
                (i64.store offset=8 (local.get $d) (i64.load offset=8 (i32.sub (local.get $d) (local.get $off))))
                (local.set $d (i32.add (local.get $d) (local.get $len)))
                (br $seq)))
            (if (i32.ge_u (local.get $off) (local.get $len))
              (then
                (memory.copy (local.get $d) (i32.sub (local.get $d) (local.get $off)) (local.get $len))
                (local.set $d (i32.add (local.get $d) (local.get $len)))
                (br $seq)))
            (local.set $k (i32.const 0))
            (loop $words
              (i64.store (i32.add (local.get $d) (local.get $k))
                (i64.load (i32.sub (i32.add (local.get $d) (local.get $k)) (local.get $off))))
              (local.set $k (i32.add (local.get $k) (i32.const 8)))
              (br_if $words (i32.lt_u (local.get $k) (local.get $len))))
            (local.set $d (i32.add (local.get $d) (local.get $len)))
            (br $seq)))
        ;; Offsets below 8: copy in chunks of k bytes from k bytes back: k starts at the offset and doubles, staying a
        ;; multiple of it, so an overlapping match repeats its pattern exactly as a byte loop would.
        (local.set $k (local.get $off))
        (loop $copy
          (local.set $n (select (local.get $k) (local.get $len) (i32.lt_u (local.get $k) (local.get $len))))
          (memory.copy (local.get $d) (i32.sub (local.get $d) (local.get $k)) (local.get $n))
          (local.set $d (i32.add (local.get $d) (local.get $n)))
          (local.set $len (i32.sub (local.get $len) (local.get $n)))
          (local.set $k (i32.add (local.get $k) (local.get $n)))
          (br_if $copy (local.get $len)))
        (br $seq)))
    (i32.const -7)))
