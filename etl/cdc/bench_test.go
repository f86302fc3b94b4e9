package cdc

import (
	"fmt"
	"testing"
)

// benchDDB is shaped like cdcgen's DynamoDB records (about 1.3 KB each).
func benchDDB(i int) []byte {
	img := func(v int) string {
		return fmt.Sprintf(`{"pk":{"S":"k%09d"},"customer_id":{"N":"%d"},"name":{"S":"Customer %d"},"status":{"S":"PAID"},"qty":{"N":"%d"},"amount":{"N":"%d.25"},"discount":{"N":"0.1250"},"active":{"BOOL":true},"created_at":{"S":"2024-03-01T00:00:00.000Z"},"updated_at":{"N":"1709251200000"},"version":{"N":"%d"},"tags":{"L":[{"S":"promo"},{"S":"gift"}]},"attrs":{"M":{"color":{"S":"red"},"size":{"N":"12"},"dims":{"M":{"w":{"N":"1.5"},"h":{"N":"2.5"}}}}},"note":{"S":"note for order k%09d v%d"}}`,
			i, i%100000, i%100000, i%1000, i, v, i, v)
	}
	return []byte(fmt.Sprintf(`{"awsRegion":"eu-west-1","eventID":"0c3b2f5e-9f1a-4a8e-b1d2-%012d","eventName":"MODIFY","userIdentity":null,"recordFormat":"application/json","tableName":"orders","dynamodb":{"ApproximateCreationDateTime":%d,"Keys":{"pk":{"S":"k%09d"}},"NewImage":%s,"OldImage":%s,"SizeBytes":600,"ApproximateCreationDateTimePrecision":"MILLISECOND"},"eventSource":"aws:dynamodb"}`,
		i, 1709251200000+int64(i), i, img(2), img(1)))
}

func benchDBZ(i int) []byte {
	row := func(v int) string {
		return fmt.Sprintf(`{"pk":"k%09d","customer_id":%d,"name":"Customer %d","status":"PAID","qty":%d,"amount":"%d.25","discount":0.1250,"active":true,"created_at":1709251200000000,"updated_at":"2024-03-01T00:00:00.000Z","version":%d,"tags":["promo","gift"],"attrs":"{\"color\":\"red\",\"size\":12}","note":"note for order k%09d v%d"}`,
			i, i%100000, i%100000, i%1000, i, v, i, v)
	}
	return []byte(fmt.Sprintf(`{"before":%s,"after":%s,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"shop","ts_ms":1709251200000,"snapshot":"false","db":"shop","sequence":null,"schema":"public","table":"orders","txId":1000,"lsn":%d,"xmin":null},"op":"u","ts_ms":1709251200010,"transaction":null}`,
		row(1), row(2), 100000+i))
}

func benchDecode(b *testing.B, d Decoder, gen func(int) []byte) {
	recs := make([][]byte, 1000)
	size := 0
	for i := range recs {
		recs[i] = gen(i)
		size += len(recs[i])
	}
	b.SetBytes(int64(size / len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	var c Change
	for i := 0; i < b.N; i++ {
		if _, err := d.DecodePrefix(recs[i%len(recs)], &c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeDynamoDB is the per-record hot path: envelope only.
func BenchmarkDecodeDynamoDB(b *testing.B) { benchDecode(b, &DynamoDB{}, benchDDB) }

// BenchmarkDecodeDebezium is the per-record hot path: envelope only.
func BenchmarkDecodeDebezium(b *testing.B) {
	benchDecode(b, &Debezium{KeyCols: []string{"pk"}}, benchDBZ)
}

// BenchmarkDecodeImageDynamoDB is the winners-only full decode.
func BenchmarkDecodeImageDynamoDB(b *testing.B) { benchImage(b, &DynamoDB{}, benchDDB(1)) }

// BenchmarkDecodeImageDebezium is the winners-only full decode (no schema).
func BenchmarkDecodeImageDebezium(b *testing.B) {
	benchImage(b, &Debezium{KeyCols: []string{"pk"}}, benchDBZ(1))
}

func benchImage(b *testing.B, d Decoder, rec []byte) {
	var c Change
	if err := d.Decode(rec, &c); err != nil {
		b.Fatal(err)
	}
	img := append([]byte(nil), c.Image...)
	b.SetBytes(int64(len(img)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := d.DecodeImage(img, nil); err != nil {
			b.Fatal(err)
		}
	}
}
