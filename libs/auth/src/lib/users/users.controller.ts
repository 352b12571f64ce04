import { AuthGuard, Scopes } from '@keelson/auth-client';
import { Body, ConflictException, Controller, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsIn, IsString, Length, Matches } from 'class-validator';
import { PLATFORM_SCOPES } from '../scopes';
import { UsernameTakenError, UsersService, type UserView } from './users.service';

export class CreateUserDto {
  @ApiProperty({ example: 'ada' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @Matches(/^[a-z0-9][a-z0-9._@-]{1,63}$/, { message: 'username must be 2–64 letters, digits, dot, dash, underscore or @' })
  username!: string;

  @ApiProperty({ minLength: 12, maxLength: 256 })
  @IsString()
  @Length(12, 256, { message: 'password must be 12 to 256 characters' })
  password!: string;

  @ApiProperty({ enum: PLATFORM_SCOPES, isArray: true })
  @ArrayMaxSize(PLATFORM_SCOPES.length)
  @IsIn(PLATFORM_SCOPES, { each: true, message: `each scope must be one of ${PLATFORM_SCOPES.join(', ')}` })
  scopes!: string[];
}

/** User administration; needs a token with `auth:admin`. */
@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/v1/auth/users')
@UseGuards(AuthGuard)
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Create a user who can sign in with the password grant' })
  @Scopes('auth:admin')
  async create(@Body() body: CreateUserDto): Promise<UserView> {
    try {
      return await this.users.create(body.username, body.password, [...new Set(body.scopes)]);
    } catch (error) {
      if (error instanceof UsernameTakenError) throw new ConflictException(error.message);
      throw error;
    }
  }
}
