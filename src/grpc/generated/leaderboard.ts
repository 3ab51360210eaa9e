import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { BasicCredentials as _leaderboard_BasicCredentials, BasicCredentials__Output as _leaderboard_BasicCredentials__Output } from './leaderboard/BasicCredentials.js';
import type { GetLeaderBoard as _leaderboard_GetLeaderBoard, GetLeaderBoard__Output as _leaderboard_GetLeaderBoard__Output } from './leaderboard/GetLeaderBoard.js';
import type { LeaderBoardClient as _leaderboard_LeaderBoardClient, LeaderBoardDefinition as _leaderboard_LeaderBoardDefinition } from './leaderboard/LeaderBoard.js';
import type { LeaderBoardRecord as _leaderboard_LeaderBoardRecord, LeaderBoardRecord__Output as _leaderboard_LeaderBoardRecord__Output } from './leaderboard/LeaderBoardRecord.js';
import type { LeaderBoardResponse as _leaderboard_LeaderBoardResponse, LeaderBoardResponse__Output as _leaderboard_LeaderBoardResponse__Output } from './leaderboard/LeaderBoardResponse.js';
import type { PlayerScore as _leaderboard_PlayerScore, PlayerScore__Output as _leaderboard_PlayerScore__Output } from './leaderboard/PlayerScore.js';
import type { ScoreResponse as _leaderboard_ScoreResponse, ScoreResponse__Output as _leaderboard_ScoreResponse__Output } from './leaderboard/ScoreResponse.js';
import type { TokenAuth as _leaderboard_TokenAuth, TokenAuth__Output as _leaderboard_TokenAuth__Output } from './leaderboard/TokenAuth.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  leaderboard: {
    BasicCredentials: MessageTypeDefinition<_leaderboard_BasicCredentials, _leaderboard_BasicCredentials__Output>
    GetLeaderBoard: MessageTypeDefinition<_leaderboard_GetLeaderBoard, _leaderboard_GetLeaderBoard__Output>
    LeaderBoard: SubtypeConstructor<typeof grpc.Client, _leaderboard_LeaderBoardClient> & { service: _leaderboard_LeaderBoardDefinition }
    LeaderBoardRecord: MessageTypeDefinition<_leaderboard_LeaderBoardRecord, _leaderboard_LeaderBoardRecord__Output>
    LeaderBoardResponse: MessageTypeDefinition<_leaderboard_LeaderBoardResponse, _leaderboard_LeaderBoardResponse__Output>
    Option: EnumTypeDefinition
    PlayerScore: MessageTypeDefinition<_leaderboard_PlayerScore, _leaderboard_PlayerScore__Output>
    ScoreResponse: MessageTypeDefinition<_leaderboard_ScoreResponse, _leaderboard_ScoreResponse__Output>
    TokenAuth: MessageTypeDefinition<_leaderboard_TokenAuth, _leaderboard_TokenAuth__Output>
  }
}

