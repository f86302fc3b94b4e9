package awsproto

// InternalHeader marks the requests an emulation makes to the local endpoint
// itself (Firehose reading its Kinesis source): the endpoint serves them like
// any other but does not Sync its time-driven emulations on them, which would
// re-enter the emulation that made the request.
const InternalHeader = "X-Localaws-Internal"
