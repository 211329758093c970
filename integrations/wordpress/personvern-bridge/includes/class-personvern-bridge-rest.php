<?php
/**
 * The REST routes of the personvern bridge: WordPress's personal-data exporters and erasers,
 * one page of one of them per call.
 *
 * The account step of an erasure (POST /delete-account) is in class-personvern-bridge-account.php.
 *
 * Security: every route needs an authenticated user (an application password, core since
 * WordPress 5.6) with the capability WordPress's own privacy tools need: exporting needs
 * export_others_personal_data; erasing needs erase_others_personal_data and delete_users,
 * as core's wp_ajax_wp_privacy_erase_personal_data does. On a single site both privacy
 * capabilities map to manage_options (map_meta_cap), i.e. administrators. Nothing is
 * returned without them, not even the list of exporters. Application passwords are only
 * offered over HTTPS (or on a site whose WP_ENVIRONMENT_TYPE is "local"), so the address
 * and the password never travel in clear text.
 *
 * Unlike Tools → Export/Erase Personal Data, no confirmation e-mail is sent and no
 * user_request post is made: personvern has verified the person before it calls.
 *
 * @package personvern-bridge
 */

defined( 'ABSPATH' ) || exit;

/**
 * Registers and serves the personvern/v1 routes.
 */
final class Personvern_Bridge_REST {

	const NAMESPACE_V1 = 'personvern/v1';

	/**
	 * Registers the routes on rest_api_init.
	 */
	public function register_routes() {
		register_rest_route(
			self::NAMESPACE_V1,
			'/exporters',
			array(
				'methods'             => WP_REST_Server::READABLE,
				'callback'            => array( $this, 'list_exporters' ),
				'permission_callback' => array( $this, 'can_export' ),
			)
		);
		register_rest_route(
			self::NAMESPACE_V1,
			'/export',
			array(
				// POST too, so a caller can keep the address out of the web server's access log.
				'methods'             => array( 'GET', 'POST' ),
				'callback'            => array( $this, 'export_page' ),
				'permission_callback' => array( $this, 'can_export' ),
			)
		);
		register_rest_route(
			self::NAMESPACE_V1,
			'/erasers',
			array(
				'methods'             => WP_REST_Server::READABLE,
				'callback'            => array( $this, 'list_erasers' ),
				'permission_callback' => array( $this, 'can_erase' ),
			)
		);
		register_rest_route(
			self::NAMESPACE_V1,
			'/erase',
			array(
				'methods'             => 'POST',
				'callback'            => array( $this, 'erase_page' ),
				'permission_callback' => array( $this, 'can_erase' ),
			)
		);
		register_rest_route(
			self::NAMESPACE_V1,
			'/delete-account',
			array(
				'methods'             => 'POST',
				'callback'            => array( new Personvern_Bridge_Account(), 'delete_account' ),
				'permission_callback' => array( $this, 'can_erase' ),
			)
		);
	}

	/**
	 * Permission callback of the export routes.
	 *
	 * @return true|WP_Error
	 */
	public function can_export() {
		return $this->require_caps( array( 'export_others_personal_data' ) );
	}

	/**
	 * Permission callback of the erase routes (core's erase tool needs both capabilities).
	 *
	 * @return true|WP_Error
	 */
	public function can_erase() {
		return $this->require_caps( array( 'erase_others_personal_data', 'delete_users' ) );
	}

	/**
	 * True when the current user has every capability, else a 401/403 that says what to do.
	 *
	 * @param string[] $caps Capabilities needed.
	 * @return true|WP_Error
	 */
	private function require_caps( $caps ) {
		if ( ! is_user_logged_in() ) {
			return new WP_Error(
				'personvern_not_logged_in',
				'WordPress did not sign anyone in: send the user name and an application password (Users → Profile → Application Passwords) of an administrator, over HTTPS.',
				array( 'status' => 401 )
			);
		}
		$missing = array_values(
			array_filter(
				$caps,
				static function ( $cap ) {
					return ! current_user_can( $cap );
				}
			)
		);
		if ( $missing ) {
			return new WP_Error(
				'personvern_forbidden',
				sprintf(
					'The user %s lacks the capability %s, which the personvern bridge needs; use an administrator\'s application password.',
					wp_get_current_user()->user_login,
					implode( ' and ', $missing )
				),
				array( 'status' => 403 )
			);
		}
		return true;
	}

	/**
	 * GET /exporters: every registered exporter, in WordPress's order.
	 *
	 * @return WP_REST_Response|WP_Error
	 */
	public function list_exporters() {
		$exporters = $this->registered( 'wp_privacy_personal_data_exporters', 'exporter_friendly_name' );
		if ( is_wp_error( $exporters ) ) {
			return $exporters;
		}
		return rest_ensure_response( $this->describe( $exporters, 'exporter_friendly_name' ) );
	}

	/**
	 * GET /erasers: every registered eraser, in WordPress's order.
	 *
	 * @return WP_REST_Response|WP_Error
	 */
	public function list_erasers() {
		$erasers = $this->registered( 'wp_privacy_personal_data_erasers', 'eraser_friendly_name' );
		if ( is_wp_error( $erasers ) ) {
			return $erasers;
		}
		return rest_ensure_response( $this->describe( $erasers, 'eraser_friendly_name' ) );
	}

	/**
	 * GET|POST /export: one page of one exporter for one address.
	 *
	 * @param WP_REST_Request $request email, exporter, page.
	 * @return WP_REST_Response|WP_Error
	 */
	public function export_page( $request ) {
		$args = $this->arguments( $request, 'exporter', 'wp_privacy_personal_data_exporters', 'exporter_friendly_name' );
		if ( is_wp_error( $args ) ) {
			return $args;
		}
		list( $email, $id, $callback, $page ) = $args;
		$response = call_user_func( $callback, $email, $page );
		if ( is_wp_error( $response ) ) {
			return $this->failed( $id, $response->get_error_message() );
		}
		if ( ! is_array( $response ) || ! array_key_exists( 'data', $response ) || ! is_array( $response['data'] ) || ! array_key_exists( 'done', $response ) ) {
			return $this->failed( $id, 'it did not return an array with data (an array) and done' );
		}
		$items = array();
		foreach ( $response['data'] as $item ) {
			if ( ! is_array( $item ) || ! isset( $item['group_id'], $item['item_id'] ) ) {
				return $this->failed( $id, 'an item lacks group_id or item_id' );
			}
			$pairs = array();
			foreach ( (array) ( $item['data'] ?? array() ) as $pair ) {
				if ( is_array( $pair ) && isset( $pair['name'] ) ) {
					$pairs[] = array(
						'name'  => (string) $pair['name'],
						'value' => $pair['value'] ?? null,
					);
				}
			}
			$items[] = array(
				'group_id'          => (string) $item['group_id'],
				'group_label'       => (string) ( $item['group_label'] ?? $item['group_id'] ),
				'group_description' => (string) ( $item['group_description'] ?? '' ),
				'item_id'           => (string) $item['item_id'],
				'data'              => $pairs,
			);
		}
		return rest_ensure_response(
			array(
				'exporter' => $id,
				'page'     => $page,
				'data'     => $items,
				'done'     => (bool) $response['done'],
			)
		);
	}

	/**
	 * POST /erase: one page of one eraser for one address.
	 *
	 * Core's erasers report items_removed and items_retained as booleans, others as counts;
	 * both come back as counts (true is 1), so a caller can add them up.
	 *
	 * @param WP_REST_Request $request email, eraser, page.
	 * @return WP_REST_Response|WP_Error
	 */
	public function erase_page( $request ) {
		$args = $this->arguments( $request, 'eraser', 'wp_privacy_personal_data_erasers', 'eraser_friendly_name' );
		if ( is_wp_error( $args ) ) {
			return $args;
		}
		list( $email, $id, $callback, $page ) = $args;
		$response = call_user_func( $callback, $email, $page );
		if ( is_wp_error( $response ) ) {
			return $this->failed( $id, $response->get_error_message() );
		}
		foreach ( array( 'items_removed', 'items_retained', 'messages', 'done' ) as $key ) {
			if ( ! is_array( $response ) || ! array_key_exists( $key, $response ) ) {
				return $this->failed( $id, "its answer has no $key" );
			}
		}
		if ( ! is_array( $response['messages'] ) ) {
			return $this->failed( $id, 'its messages are not an array' );
		}
		return rest_ensure_response(
			array(
				'eraser'         => $id,
				'page'           => $page,
				'items_removed'  => (int) $response['items_removed'],
				'items_retained' => (int) $response['items_retained'],
				'messages'       => array_values( array_map( 'strval', $response['messages'] ) ),
				'done'           => (bool) $response['done'],
			)
		);
	}

	/**
	 * The checked arguments of an export or erase call: address, id, callback, page.
	 *
	 * @param WP_REST_Request $request The call.
	 * @param string          $kind    "exporter" or "eraser": the parameter naming it.
	 * @param string          $filter  The filter that registers them.
	 * @param string          $label   The key of their friendly name.
	 * @return array|WP_Error
	 */
	private function arguments( $request, $kind, $filter, $label ) {
		$email = trim( (string) $request->get_param( 'email' ) );
		if ( '' === $email || ! is_email( $email ) ) {
			return new WP_Error(
				'personvern_invalid_email',
				sprintf( 'The parameter email must be an e-mail address; %s is not one.', '' === $email ? 'an empty value' : "'$email'" ),
				array( 'status' => 400 )
			);
		}
		$page_param = $request->get_param( 'page' );
		$page       = null === $page_param ? 1 : filter_var( $page_param, FILTER_VALIDATE_INT );
		if ( false === $page || $page < 1 ) {
			return new WP_Error(
				'personvern_invalid_page',
				'The parameter page must be a whole number from 1; start at 1 and add 1 until done is true.',
				array( 'status' => 400 )
			);
		}
		$registered = $this->registered( $filter, $label );
		if ( is_wp_error( $registered ) ) {
			return $registered;
		}
		$id = (string) $request->get_param( $kind );
		if ( ! isset( $registered[ $id ] ) ) {
			return new WP_Error(
				"personvern_unknown_$kind",
				sprintf(
					'There is no %s %s on this site; the %ss are: %s. List them with GET /wp-json/personvern/v1/%ss.',
					$kind,
					'' === $id ? '(the parameter is missing)' : "'$id'",
					$kind,
					implode( ', ', array_keys( $registered ) ),
					$kind
				),
				array( 'status' => 400 )
			);
		}
		$callback = $registered[ $id ]['callback'] ?? null;
		if ( ! is_callable( $callback ) ) {
			return $this->failed( $id, 'its callback cannot be called' );
		}
		return array( $email, $id, $callback, (int) $page );
	}

	/**
	 * What a registration filter returns, checked as core checks it.
	 *
	 * @param string $filter wp_privacy_personal_data_exporters or ..._erasers.
	 * @param string $label  The key of the friendly name.
	 * @return array|WP_Error
	 */
	private function registered( $filter, $label ) {
		$registered = apply_filters( $filter, array() );
		if ( ! is_array( $registered ) ) {
			return new WP_Error(
				'personvern_bad_registration',
				"A plugin has misused the $filter filter (it did not return an array); deactivate plugins one by one to find it.",
				array( 'status' => 500 )
			);
		}
		return array_filter(
			$registered,
			static function ( $entry ) {
				return is_array( $entry );
			}
		);
	}

	/**
	 * Id and friendly name of each registered exporter or eraser.
	 *
	 * @param array  $registered As the filter returned it.
	 * @param string $label      The key of the friendly name.
	 * @return array
	 */
	private function describe( $registered, $label ) {
		$out = array();
		foreach ( $registered as $id => $entry ) {
			$out[] = array(
				'id'   => (string) $id,
				'name' => wp_strip_all_tags( (string) ( $entry[ $label ] ?? $id ) ),
			);
		}
		return $out;
	}

	/**
	 * A 500 naming the exporter or eraser that failed, in core's words where it has them.
	 *
	 * @param string $id   The exporter's or eraser's id.
	 * @param string $what What went wrong.
	 * @return WP_Error
	 */
	private function failed( $id, $what ) {
		return new WP_Error(
			'personvern_callback_failed',
			"The exporter or eraser '$id' failed: $what. Its plugin is at fault; update or deactivate it.",
			array( 'status' => 500 )
		);
	}
}
