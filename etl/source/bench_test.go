package source

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkScanner frames back-to-back and newline-delimited records.
func BenchmarkScanner(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 8<<20; i++ {
		fmt.Fprintf(&buf, `{"eventID":"%d","dynamodb":{"Keys":{"pk":{"S":"k%09d"}},"NewImage":{"s":{"S":"a \"quoted\" {brace}"},"n":{"N":"%d"},"l":{"L":[{"S":"x"},{"N":"1"}]}}}}`, i, i, i)
		if i%2 == 0 {
			buf.WriteByte('\n')
		}
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := NewScanner(bytes.NewReader(data), 1<<20)
		n := 0
		for s.Next() {
			n++
		}
		if n == 0 {
			b.Fatal("no records")
		}
	}
}
