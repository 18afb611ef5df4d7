// Command grpctestingref writes the grpc.testing descriptors that grpc-go's
// reference interop client and server are built from (empty.proto,
// messages.proto and test.proto, as compiled into
// google.golang.org/grpc/interop/grpc_testing at the grpc-go version in
// go.mod) to stdout as a binary google.protobuf.FileDescriptorSet.
//
// Polychat keeps its own copy of those files under proto/polychat/grpc_testing
// so that its Python interop peers are generated from the same definitions; a
// test compares the two, field by field, so the copy cannot drift:
//
//	go run ./tools/grpctestingref > reference.binpb
package main

import (
	"fmt"
	"os"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "grpctestingref: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	set := &descriptorpb.FileDescriptorSet{}
	for _, file := range []protoreflect.FileDescriptor{
		testpb.File_grpc_testing_empty_proto,
		testpb.File_grpc_testing_messages_proto,
		testpb.File_grpc_testing_test_proto,
	} {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(file))
	}
	out, err := proto.Marshal(set)
	if err != nil {
		return fmt.Errorf("encode the descriptor set: %w", err)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		return fmt.Errorf("write the descriptor set: %w", err)
	}
	return nil
}
