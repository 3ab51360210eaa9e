// Original file: proto/leaderboard.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BasicCredentials as _leaderboard_BasicCredentials, BasicCredentials__Output as _leaderboard_BasicCredentials__Output } from '../leaderboard/BasicCredentials.js';
import type { GetLeaderBoard as _leaderboard_GetLeaderBoard, GetLeaderBoard__Output as _leaderboard_GetLeaderBoard__Output } from '../leaderboard/GetLeaderBoard.js';
import type { LeaderBoardResponse as _leaderboard_LeaderBoardResponse, LeaderBoardResponse__Output as _leaderboard_LeaderBoardResponse__Output } from '../leaderboard/LeaderBoardResponse.js';
import type { PlayerScore as _leaderboard_PlayerScore, PlayerScore__Output as _leaderboard_PlayerScore__Output } from '../leaderboard/PlayerScore.js';
import type { ScoreResponse as _leaderboard_ScoreResponse, ScoreResponse__Output as _leaderboard_ScoreResponse__Output } from '../leaderboard/ScoreResponse.js';
import type { TokenAuth as _leaderboard_TokenAuth, TokenAuth__Output as _leaderboard_TokenAuth__Output } from '../leaderboard/TokenAuth.js';

export interface LeaderBoardClient extends grpc.Client {
  AuthenticateUser(argument: _leaderboard_BasicCredentials, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_leaderboard_TokenAuth__Output>): grpc.ClientUnaryCall;
  AuthenticateUser(argument: _leaderboard_BasicCredentials, metadata: grpc.Metadata, callback: grpc.requestCallback<_leaderboard_TokenAuth__Output>): grpc.ClientUnaryCall;
  AuthenticateUser(argument: _leaderboard_BasicCredentials, options: grpc.CallOptions, callback: grpc.requestCallback<_leaderboard_TokenAuth__Output>): grpc.ClientUnaryCall;
  AuthenticateUser(argument: _leaderboard_BasicCredentials, callback: grpc.requestCallback<_leaderboard_TokenAuth__Output>): grpc.ClientUnaryCall;
  authenticateUser(argument: _leaderboard_BasicCredentials, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_leaderboard_TokenAuth__Output>): grpc.ClientUnaryCall;
  authenticateUser(argument: _leaderboard_BasicCredentials, metadata: grpc.Metadata, callback: grpc.requestCallback<_leaderboard_TokenAuth__Output>): grpc.ClientUnaryCall;
  authenticateUser(argument: _leaderboard_BasicCredentials, options: grpc.CallOptions, callback: grpc.requestCallback<_leaderboard_TokenAuth__Output>): grpc.ClientUnaryCall;
  authenticateUser(argument: _leaderboard_BasicCredentials, callback: grpc.requestCallback<_leaderboard_TokenAuth__Output>): grpc.ClientUnaryCall;
  
  GetLeaderBoardPages(argument: _leaderboard_GetLeaderBoard, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_leaderboard_LeaderBoardResponse__Output>): grpc.ClientUnaryCall;
  GetLeaderBoardPages(argument: _leaderboard_GetLeaderBoard, metadata: grpc.Metadata, callback: grpc.requestCallback<_leaderboard_LeaderBoardResponse__Output>): grpc.ClientUnaryCall;
  GetLeaderBoardPages(argument: _leaderboard_GetLeaderBoard, options: grpc.CallOptions, callback: grpc.requestCallback<_leaderboard_LeaderBoardResponse__Output>): grpc.ClientUnaryCall;
  GetLeaderBoardPages(argument: _leaderboard_GetLeaderBoard, callback: grpc.requestCallback<_leaderboard_LeaderBoardResponse__Output>): grpc.ClientUnaryCall;
  getLeaderBoardPages(argument: _leaderboard_GetLeaderBoard, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_leaderboard_LeaderBoardResponse__Output>): grpc.ClientUnaryCall;
  getLeaderBoardPages(argument: _leaderboard_GetLeaderBoard, metadata: grpc.Metadata, callback: grpc.requestCallback<_leaderboard_LeaderBoardResponse__Output>): grpc.ClientUnaryCall;
  getLeaderBoardPages(argument: _leaderboard_GetLeaderBoard, options: grpc.CallOptions, callback: grpc.requestCallback<_leaderboard_LeaderBoardResponse__Output>): grpc.ClientUnaryCall;
  getLeaderBoardPages(argument: _leaderboard_GetLeaderBoard, callback: grpc.requestCallback<_leaderboard_LeaderBoardResponse__Output>): grpc.ClientUnaryCall;
  
  RecordPlayerScore(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_leaderboard_PlayerScore, _leaderboard_ScoreResponse__Output>;
  RecordPlayerScore(options?: grpc.CallOptions): grpc.ClientDuplexStream<_leaderboard_PlayerScore, _leaderboard_ScoreResponse__Output>;
  recordPlayerScore(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_leaderboard_PlayerScore, _leaderboard_ScoreResponse__Output>;
  recordPlayerScore(options?: grpc.CallOptions): grpc.ClientDuplexStream<_leaderboard_PlayerScore, _leaderboard_ScoreResponse__Output>;
  
}

export interface LeaderBoardHandlers extends grpc.UntypedServiceImplementation {
  AuthenticateUser: grpc.handleUnaryCall<_leaderboard_BasicCredentials__Output, _leaderboard_TokenAuth>;
  
  GetLeaderBoardPages: grpc.handleUnaryCall<_leaderboard_GetLeaderBoard__Output, _leaderboard_LeaderBoardResponse>;
  
  RecordPlayerScore: grpc.handleBidiStreamingCall<_leaderboard_PlayerScore__Output, _leaderboard_ScoreResponse>;
  
}

export interface LeaderBoardDefinition extends grpc.ServiceDefinition {
  AuthenticateUser: MethodDefinition<_leaderboard_BasicCredentials, _leaderboard_TokenAuth, _leaderboard_BasicCredentials__Output, _leaderboard_TokenAuth__Output>
  GetLeaderBoardPages: MethodDefinition<_leaderboard_GetLeaderBoard, _leaderboard_LeaderBoardResponse, _leaderboard_GetLeaderBoard__Output, _leaderboard_LeaderBoardResponse__Output>
  RecordPlayerScore: MethodDefinition<_leaderboard_PlayerScore, _leaderboard_ScoreResponse, _leaderboard_PlayerScore__Output, _leaderboard_ScoreResponse__Output>
}
