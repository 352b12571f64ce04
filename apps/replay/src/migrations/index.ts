export { replayMigrations as migrations } from '@keelson/replay';
