export { defineApp } from './define-app.js';
export { isApp, APP_FORMAT } from './app.js';
export type { App, AppConfig, AppProcess } from './app.js';
export { appIssues } from './app-issues.js';
export { AppDefinitionError } from './app-definition-error.js';
export { AppLoadError } from './app-load-error.js';
export type { AppLoadErrorOptions, AppLoadFailure } from './app-load-error.js';
