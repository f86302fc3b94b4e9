#include "textflag.h"

// func blockMasks(p *byte) (quote, backslash, open, close, ctl uint64)
//
// Classifies the 64 bytes at p, one bit per byte (bit k for p[k]):
// '"', '\\', '{' or '[', '}' or ']', and bytes below 0x20. Needs AVX2.
TEXT ·blockMasks(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	VMOVDQU c22<>(SB), Y2   // '"'
	VPCMPEQB Y0, Y2, Y3
	VPCMPEQB Y1, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, quote+8(FP)

	VMOVDQU c5c<>(SB), Y2   // '\\'
	VPCMPEQB Y0, Y2, Y3
	VPCMPEQB Y1, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, backslash+16(FP)

	// '[' and ']' are '{' and '}' without bit 0x20: compare x|0x20.
	VMOVDQU c20<>(SB), Y2
	VPOR Y0, Y2, Y5
	VPOR Y1, Y2, Y6

	VMOVDQU c7b<>(SB), Y2   // '{' or '['
	VPCMPEQB Y5, Y2, Y3
	VPCMPEQB Y6, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, open+24(FP)

	VMOVDQU c7d<>(SB), Y2   // '}' or ']'
	VPCMPEQB Y5, Y2, Y3
	VPCMPEQB Y6, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, close+32(FP)

	// x < 0x20 (unsigned): max(x, 0x1f) == 0x1f.
	VMOVDQU c1f<>(SB), Y2
	VPMAXUB Y0, Y2, Y3
	VPMAXUB Y1, Y2, Y4
	VPCMPEQB Y3, Y2, Y3
	VPCMPEQB Y4, Y2, Y4
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, ctl+40(FP)

	VZEROUPPER
	RET

#define SPLAT(name, b) \
	DATA name<>+0(SB)/8, $b; \
	DATA name<>+8(SB)/8, $b; \
	DATA name<>+16(SB)/8, $b; \
	DATA name<>+24(SB)/8, $b; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

SPLAT(c22, 0x2222222222222222)
SPLAT(c5c, 0x5c5c5c5c5c5c5c5c)
SPLAT(c20, 0x2020202020202020)
SPLAT(c7b, 0x7b7b7b7b7b7b7b7b)
SPLAT(c7d, 0x7d7d7d7d7d7d7d7d)
SPLAT(c1f, 0x1f1f1f1f1f1f1f1f)
