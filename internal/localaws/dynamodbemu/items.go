package dynamodbemu

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/google/uuid"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Items: PutItem, GetItem and DeleteItem (no expressions), enough to drive a
// table's Kinesis streaming destination. Every change is sent, as DynamoDB
// does, to each ACTIVE destination as a "Kinesis Data Streams for DynamoDB"
// record: eventName INSERT/MODIFY/REMOVE, Keys, NewImage, OldImage and
// ApproximateCreationDateTime in the destination's precision.

// Connect lets the table send change records to Kinesis through kinesisURL
// (the local endpoint). Without it, items are stored but not streamed.
func (s *Server) Connect(kinesisURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kinesisURL == "" {
		s.kinesis = nil
		return
	}
	s.kinesis = kinesis.New(kinesis.Options{Region: s.region, BaseEndpoint: aws.String(kinesisURL),
		Credentials: credentials.NewStaticCredentialsProvider("dynamodb-emulator", "dynamodb-emulator", "")})
}

type item = map[string]json.RawMessage

// keyOf returns the item's key attributes and their canonical string.
func (t *table) keyOf(it item) (item, string, error) {
	types := map[string]string{}
	for _, a := range t.attrs {
		types[a.AttributeName] = a.AttributeType
	}
	key := item{}
	var parts []string
	for _, k := range t.keys {
		v, ok := it[k.AttributeName]
		if !ok {
			return nil, "", validationf("One or more parameter values were invalid: Missing the key %s in the item", k.AttributeName)
		}
		var av map[string]json.RawMessage
		if json.Unmarshal(v, &av) != nil || len(av) != 1 || av[types[k.AttributeName]] == nil {
			return nil, "", validationf("One or more parameter values were invalid: Type mismatch for key %s expected: %s", k.AttributeName, types[k.AttributeName])
		}
		key[k.AttributeName] = v
		parts = append(parts, k.AttributeName+"="+string(v))
	}
	return key, strings.Join(parts, "\x00"), nil
}

type change struct {
	stream, precision string
	data, partition   []byte
}

func (s *Server) record(t *table, event string, key, newImg, oldImg item, at time.Time) []change {
	var out []change
	t.settle()
	for _, d := range t.dests {
		if d.DestinationStatus != "ACTIVE" && d.DestinationStatus != "UPDATING" {
			continue
		}
		ts := at.UnixMilli()
		if d.ApproximateCreationDateTimePrecision == "MICROSECOND" {
			ts = at.UnixMicro()
		}
		ddb := map[string]any{"ApproximateCreationDateTime": ts, "ApproximateCreationDateTimePrecision": d.ApproximateCreationDateTimePrecision, "Keys": key}
		size := 0
		if newImg != nil {
			ddb["NewImage"] = newImg
			size += imageSize(newImg)
		}
		if oldImg != nil {
			ddb["OldImage"] = oldImg
			size += imageSize(oldImg)
		}
		ddb["SizeBytes"] = size
		rec := map[string]any{"awsRegion": s.region, "eventID": uuid.NewString(), "eventName": event, "userIdentity": nil,
			"recordFormat": "application/json", "tableName": t.name, "dynamodb": ddb, "eventSource": "aws:dynamodb"}
		b, _ := json.Marshal(rec)
		pk, _ := json.Marshal(key)
		out = append(out, change{stream: d.StreamArn, precision: d.ApproximateCreationDateTimePrecision, data: b, partition: pk})
	}
	return out
}

func imageSize(it item) int {
	n := 0
	for k, v := range it {
		n += len(k) + len(v)
	}
	return n
}

// send puts the change records into Kinesis (outside the lock). A failed put
// is logged by the caller's absence of data, as DynamoDB's own retries would
// eventually give up too.
func (s *Server) send(ctx context.Context, cs []change) {
	s.mu.Lock()
	k := s.kinesis
	s.mu.Unlock()
	if k == nil {
		return
	}
	for _, c := range cs {
		name := c.stream[strings.LastIndex(c.stream, "/")+1:]
		pk := c.partition
		if len(pk) > 256 {
			pk = pk[:256]
		}
		k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String(string(pk)), Data: c.data})
	}
}

func (s *Server) putItem(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TableName    string
		Item         item
		ReturnValues string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	size := imageSize(in.Item)
	if size > 400<<10 {
		return nil, validationf("Item size has exceeded the maximum allowed size")
	}
	s.mu.Lock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	key, ks, err := t.keyOf(in.Item)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if t.items == nil {
		t.items = map[string]item{}
	}
	old := t.items[ks]
	t.items[ks] = in.Item
	event := "INSERT"
	if old != nil {
		event = "MODIFY"
	}
	cs := s.record(t, event, key, in.Item, old, time.Now())
	s.mu.Unlock()
	s.send(r.Context(), cs)
	out := map[string]any{}
	if in.ReturnValues == "ALL_OLD" && old != nil {
		out["Attributes"] = old
	}
	return out, nil
}

func (s *Server) deleteItem(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TableName    string
		Key          item
		ReturnValues string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if len(in.Key) != len(t.keys) {
		s.mu.Unlock()
		return nil, validationf("The provided key element does not match the schema")
	}
	key, ks, err := t.keyOf(in.Key)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	old := t.items[ks]
	var cs []change
	if old != nil {
		delete(t.items, ks)
		cs = s.record(t, "REMOVE", key, nil, old, time.Now())
	}
	s.mu.Unlock()
	s.send(r.Context(), cs)
	out := map[string]any{}
	if in.ReturnValues == "ALL_OLD" && old != nil {
		out["Attributes"] = old
	}
	return out, nil
}

func (s *Server) getItem(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TableName string
		Key       item
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, err
	}
	if len(in.Key) != len(t.keys) {
		return nil, validationf("The provided key element does not match the schema")
	}
	_, ks, err := t.keyOf(in.Key)
	if err != nil {
		return nil, err
	}
	if it := t.items[ks]; it != nil {
		return map[string]any{"Item": it}, nil
	}
	return struct{}{}, nil
}
