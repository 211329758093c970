<?php
/**
 * Plugin Name:       personvern bridge
 * Plugin URI:        https://github.com/personvern/personvern
 * Description:       Lets personvern answer data-subject requests in WordPress: runs the personal-data exporters and erasers that WordPress and its plugins register (Tools → Export/Erase Personal Data) over the REST API, for a user with the privacy capabilities and an application password.
 * Version:           0.2.0
 * Requires at least: 5.6
 * Requires PHP:      7.4
 * Author:            personvern contributors
 * License:           Apache-2.0
 * License URI:       https://www.apache.org/licenses/LICENSE-2.0
 * Text Domain:       personvern-bridge
 *
 * Routes (namespace personvern/v1; see readme.txt and docs/connector-wordpress.md):
 *
 *   GET      /wp-json/personvern/v1/exporters   the exporters: id, name
 *   GET|POST /wp-json/personvern/v1/export      email, exporter, page → data, done
 *   GET      /wp-json/personvern/v1/erasers     the erasers: id, name
 *   POST     /wp-json/personvern/v1/erase       email, eraser, page → items_removed,
 *                                               items_retained, messages, done
 *   POST     /wp-json/personvern/v1/delete-account
 *                                               email, reassign → found, deleted,
 *                                               posts_reassigned, reassigned_to, kept
 *
 * The exporters and erasers are whatever the wp_privacy_personal_data_exporters and
 * wp_privacy_personal_data_erasers filters return: core's (user profile, comments, media)
 * and every active plugin's, WooCommerce's included. Their callbacks and return shapes are
 * WordPress's own (developer.wordpress.org/plugins/privacy/adding-the-personal-data-exporter-to-your-plugin/
 * and .../adding-the-personal-data-eraser-to-your-plugin/); the checks on what they return
 * follow core's wp_ajax_wp_privacy_export_personal_data / wp_ajax_wp_privacy_erase_personal_data.
 * Core has no eraser for user accounts; delete-account deletes the account of the address
 * with core's wp_delete_user(), its posts given to another user, after the erasers ran.
 *
 * No build step: install by copying this folder into wp-content/plugins and activating it.
 */

defined( 'ABSPATH' ) || exit;

require_once __DIR__ . '/includes/class-personvern-bridge-account.php';
require_once __DIR__ . '/includes/class-personvern-bridge-rest.php';

add_action(
	'rest_api_init',
	static function () {
		( new Personvern_Bridge_REST() )->register_routes();
	}
);
